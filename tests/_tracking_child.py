"""Child processes for ``test_tracking_processes.py``: ``python _tracking_child.py MODE JSON``.

Each mode reads its settings from one JSON argument, prints what it did as lines on stdout
(``tracked N`` after each ``track()`` returns, and a final JSON line), and reports failures
by its exit code. Forked children report to their parent through a pipe and end with
``os._exit``; the parent prints ``forked PID`` and ``reaped PID`` so that the test can stop
a grandchild left behind by a failure (and only one that was never reaped).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import signal
import sys
import time
import traceback
import warnings
from typing import Any

from intercom_events import DataEventsClient, TrackingStats

# fork() with the sender's threads running is what these children are for.
warnings.filterwarnings("ignore", r".*multi-threaded.*fork", DeprecationWarning)

HANG = 90.0
"""Seconds a child waits for its own forked children before it calls them hung."""


def say(line: str) -> None:
    print(line, flush=True)


def counts(stats: TrackingStats) -> dict[str, int]:
    return {
        "tracked": stats.tracked,
        "delivered": stats.delivered,
        "dead": stats.dead,
        "pending": stats.pending,
        "retried": stats.retried,
        "lost": stats.lost,
    }


def client_for(args: dict[str, Any], **options: Any) -> DataEventsClient:
    outbox = None if args["outbox"] == "memory" else args["outbox"]
    return DataEventsClient(token=args["token"], base_url=args["url"], outbox=outbox, **options)


def track(client: DataEventsClient, args: dict[str, Any], prefix: str, numbers: range) -> None:
    """Distinct names and explicit seconds: a replay of any of them is the same event."""
    for n in numbers:
        client.track(
            event_name=f"{prefix}{n}",
            user_id="u1",
            created_at=args["recent"] + n,
            metadata={"n": n},
        )
        say(f"tracked {n}")
        if args.get("pace"):
            time.sleep(args["pace"])


def serial(args: dict[str, Any]) -> None:
    """Track ``start`` to ``count`` - 1 into the outbox; then, if asked, flush and report."""
    client = client_for(args)
    track(client, args, args["prefix"], range(args["start"], args["count"]))
    if args.get("flush"):
        stats = client.flush(timeout=args["flush"])
        client.close()
        say(json.dumps({"flushed": counts(stats), "closed": counts(client.tracking)}))


KEPT: list[DataEventsClient] = []
"""The ``exiting`` mode's client, held as a script's module-level client is."""


def exiting(args: dict[str, Any]) -> None:
    """Track, say so, and end the script without close(): the atexit close must not hang.

    ``keep`` false: the client is a local of a ``main()`` that returned, and the garbage
    collector has run since (as it will have in any real program); never closed, so the
    exit must still close it.
    """
    logging.basicConfig(
        level=logging.ERROR, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )

    def on_track_error(event: Any, error: Exception) -> None:
        print(f"on_track_error {event.event_name} {type(error).__name__}", file=sys.stderr)
        sys.stderr.flush()

    def main() -> None:
        client = client_for(
            args, close_timeout=args["close_timeout"], on_track_error=on_track_error
        )
        track(client, args, "x", range(args["count"]))
        if args["keep"]:
            KEPT.append(client)

    main()
    gc.collect()
    say("tracked")


def reap(pid: int) -> int | None:
    """Wait for a forked child until ``HANG``; its exit code, or None if it hung (killed)."""
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            say(f"reaped {pid}")
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    say(f"reaped {pid}")
    return None


def read_all(fd: int) -> str:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode()


def fork_worker(client: DataEventsClient, args: dict[str, Any], prefix: str) -> tuple[int, int]:
    """Fork a child that tracks its own events, flushes, closes and reports through a pipe."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        say(f"forked {pid}")
        return pid, read_end
    code = 3
    try:
        os.close(read_end)
        inherited = counts(client.tracking)
        for n in range(args["child"]):
            client.track(
                event_name=f"{prefix}{n}",
                user_id="u1",
                created_at=args["recent"] + 10_000 + n,
            )
        flushed = client.flush(timeout=args["flush"])
        client.close()
        report = {"inherited": inherited, "flushed": counts(flushed)}
        report["closed"] = counts(client.tracking)
        os.write(write_end, json.dumps(report).encode())
        code = 0
    except BaseException:
        os.write(write_end, json.dumps({"error": traceback.format_exc()}).encode())
    finally:
        os._exit(code)


def forked(args: dict[str, Any]) -> None:
    """Track in the parent, fork one child that tracks its own, flush both."""
    client = client_for(args)
    track(client, args, "parent-", range(args["parent"]))
    before = client.outbox.pending()
    pid, pipe = fork_worker(client, args, "child-")
    first = counts(client.flush(timeout=args["flush"]))
    code = reap(pid)
    child = json.loads(read_all(pipe) or "{}")
    again = counts(client.flush(timeout=args["flush"]))  # the child's, if this process sends
    client.close()
    closed = counts(client.tracking)
    say(
        json.dumps(
            {
                "pending_at_fork": before,
                "parent_flushed": first,
                "parent_again": again,
                "parent_closed": closed,
                "child": child,
                "child_code": code,
            }
        )
    )


def prefork(args: dict[str, Any]) -> None:
    """gunicorn --preload: the client is made before any track(); workers fork from it."""
    client = client_for(args)
    workers = [fork_worker(client, args, f"w{w}-") for w in range(args["workers"])]
    reports = []
    for pid, pipe in workers:
        code = reap(pid)
        reports.append({"code": code, **json.loads(read_all(pipe) or "{}")})
    flushed = counts(client.flush(timeout=args["flush"]))
    client.close()
    say(json.dumps({"workers": reports, "parent_flushed": flushed}))


MODES = {"serial": serial, "exiting": exiting, "forked": forked, "prefork": prefork}

if __name__ == "__main__":
    MODES[sys.argv[1]](json.loads(sys.argv[2]))
