"""The ``outbox`` command: look into an SQLite tracking outbox, requeue its dead letters, drain it.

``status`` (the default) counts the pending events and the dead letters and names the process
holding the sending lease; ``failed`` lists the dead letters (``--json``: the importer's jsonl,
so ``import`` can re-send them); ``requeue`` queues them again; ``drain`` sends what is pending
with a client made from the global options. The file must exist and be an outbox: this command
never creates one.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import attrs

from .. import SQLiteOutbox
from ..client import DataEventsClient
from ._failed import failed_line
from ._output import describe, emit, iso, table, who
from ._parser import seconds_flag

__all__ = ["ACTIONS", "add_commands", "run_outbox"]

ACTIONS = ("status", "failed", "requeue", "drain")
DRAIN_TIMEOUT = 30.0
"""Seconds ``drain`` waits for the outbox to empty unless ``--timeout`` says otherwise."""
_TABLES = {"events", "lease"}
"""Tables every outbox file has: a file without them is not one."""
_ERROR_WIDTH = 120
"""The widest error a ``failed`` table shows (``--json`` keeps it whole)."""

Connect = Callable[..., DataEventsClient]
"""Makes a client from the global options; keyword arguments add to them (``outbox=``)."""


def add_commands(commands: Any) -> None:
    """The ``outbox`` sub-parser."""
    outbox = commands.add_parser(
        "outbox",
        help="inspect, requeue or drain an SQLite tracking outbox",
        description=(
            "Inspect an SQLite tracking outbox (status: pending and dead counts, the sender), "
            "list its dead letters (failed), queue them again (requeue) or send what is "
            "pending (drain, with the token and host of the global options)."
        ),
    )
    outbox.add_argument("path", type=Path, metavar="PATH", help="the outbox file")
    outbox.add_argument(
        "action", nargs="?", choices=ACTIONS, default="status", help="what to do (status)"
    )
    outbox.add_argument(
        "--timeout",
        type=seconds_flag("timeout"),
        metavar="SECONDS",
        help=f"drain: the longest wait for the outbox to empty ({DRAIN_TIMEOUT:g})",
    )


def run_outbox(args: argparse.Namespace, connect: Connect, out: TextIO) -> int:
    """Run an ``outbox`` action; exit 0, or 1 when ``drain`` leaves events undelivered."""
    path: Path = args.path
    if args.timeout is not None and args.action != "drain":
        raise ValueError(f"--timeout is for 'outbox PATH drain', not {args.action!r}")
    _check(path)
    try:
        with SQLiteOutbox(path) as outbox:
            if args.action == "drain":
                timeout = DRAIN_TIMEOUT if args.timeout is None else args.timeout
                return _drain(args, outbox, connect, timeout, out)
            if args.action == "failed":
                _failed(args, outbox, out)
            elif args.action == "requeue":
                count = outbox.requeue_failed()
                emit(args.json, out, {"requeued": count}, f"requeued {count} dead letters")
            else:
                _status(args, outbox, out)
            return 0
    except sqlite3.Error as error:  # busy for too long, read-only, damaged
        raise ValueError(f"{path}: {error}") from None


def _check(path: Path) -> None:
    """Refuse a path that is not an existing outbox file, before anything could create one."""
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "no such outbox file", str(path))
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "a directory, not an outbox file", str(path))
    try:
        # mode=rw: opens an existing file only; nothing here writes to it.
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True)
        try:
            rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            tables = {name for (name,) in rows}
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise ValueError(f"{path}: not an intercom-events outbox ({error})") from None
    if not tables >= _TABLES:
        raise ValueError(f"{path}: not an intercom-events outbox (it has no events table)")


def _status(args: argparse.Namespace, outbox: SQLiteOutbox, out: TextIO) -> None:
    pending, dead = outbox.pending(), len(outbox.failed())
    sender, text = _sender(outbox)
    data = {"path": str(args.path), "pending": pending, "dead": dead, "sender": sender}
    emit(args.json, out, data, f"{args.path}: {pending} pending, {dead} dead\n{text}")


def _sender(outbox: SQLiteOutbox) -> tuple[dict[str, Any] | None, str]:
    """The lease holder as JSON (None: nobody sends) and as a line of text."""
    held = outbox.holder()
    if held is None:
        return None, "no sender"
    holder, expires = held
    left = round(expires - time.time())
    name = f"host {holder.host}, pid {holder.pid}"
    if left < 0:
        return None, f"no sender (the lease of {name} expired {-left} s ago)"
    data = {"host": holder.host, "pid": holder.pid, "expires_in": left}
    return data, f"sender: {name} (lease expires in {left} s)"


def _failed(args: argparse.Namespace, outbox: SQLiteOutbox, out: TextIO) -> None:
    failures = outbox.failed()
    if args.json:  # one line each, in the format ``import`` reads back
        for failure in failures:
            print(failed_line(failure.event, failure.error), file=out)
        return
    rows = [
        (f.event.event_name, who(f.event), iso(f.event.created_at), _short(describe(f.error)))
        for f in failures
    ]
    print(table(("event", "for", "created_at", "error"), rows), file=out)


def _short(text: str) -> str:
    return text if len(text) <= _ERROR_WIDTH else text[: _ERROR_WIDTH - 1] + "…"


def _drain(
    args: argparse.Namespace,
    outbox: SQLiteOutbox,
    connect: Connect,
    timeout: float,
    out: TextIO,
) -> int:
    """Send the pending events for up to ``timeout`` s; 1 if some stay pending or died."""
    # close_timeout=0: the flush had the whole --timeout; closing then only lets go.
    with connect(outbox=outbox, close_timeout=0.0) as client:
        client.flush(timeout=timeout)
        held = outbox.holder()
    stats = client.tracking
    text = (
        f"drained {args.path}: {stats.delivered} delivered, {stats.dead} dead, "
        f"{stats.retried} retried; {stats.pending} pending"
    )
    if stats.pending:
        text += f" after {timeout:g} s"
        if held is not None and (held[0].host, held[0].pid) != (socket.gethostname(), os.getpid()):
            text += f" (host {held[0].host}, pid {held[0].pid} holds the lease and sends them)"
    emit(args.json, out, attrs.asdict(stats), text)
    return 1 if stats.pending or stats.dead else 0
