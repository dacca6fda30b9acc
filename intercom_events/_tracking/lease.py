"""The lease that lets one process at a time send an SQLite outbox's events.

The lease is one row in the file: the holder's host name, pid and process start time, a
random token, and when it expires. A holder renews it from its own timer (every
:data:`RENEW` seconds, for :data:`TTL`); another process takes it over once it expires, or at
once when the holder is a process of this host that no longer runs (gone, a zombie, or its
pid reused by a process that started later).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sqlite3
import threading
import time

import attrs

__all__ = ["RENEW", "TTL", "Holder", "Keeper", "alive", "hold", "holder", "let_go", "me"]

TTL = 10.0
"""Seconds a lease lasts without renewal: a dead holder on another host is replaced after it."""
RENEW = 1.0
"""Seconds between renewals (and, while not holding, between tries)."""
CHECKPOINT = 0.25
"""Seconds between the keeper's checkpoints: often enough that a busy writer (an event loop's
``track()``) seldom reaches its own checkpoint threshold."""
MARGIN = 3.0
"""A holder stops sending this long before its lease would expire unrenewed."""


@attrs.frozen
class Holder:
    """A process, as the lease records it."""

    host: str
    pid: int
    started: str
    """The process's start time as the kernel counts it ("" where unknown)."""


def _started(pid: int) -> str | None:
    """The start time of process ``pid`` (Linux ``/proc``), None if it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except FileNotFoundError:
        return None
    except OSError:  # no /proc here: the pid alone says
        return ""
    if fields[0] in (b"Z", b"X"):
        return None
    return fields[19].decode()


def me() -> Holder:
    """This process (asked each time: a forked child is another process)."""
    return Holder(socket.gethostname(), os.getpid(), _started(os.getpid()) or "")


def alive(holder: Holder) -> bool:
    """Whether ``holder`` may still be running; only processes of this host can be known dead."""
    if holder.host != socket.gethostname():
        return True
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it runs, as another user
    started = _started(holder.pid)
    return started is not None and (not started or not holder.started or started == holder.started)


def hold(connection: sqlite3.Connection, token: str, now: float) -> bool:
    """Take or renew the lease for ``token``; whether this process holds it now.

    A renewal is one statement (the write lock is held for microseconds); taking the lease
    reads the holder first, in a transaction.
    """
    renewed = connection.execute(
        "UPDATE lease SET expires = ? WHERE token = ?", (now + TTL, token)
    ).rowcount
    if renewed:
        return True
    connection.execute("BEGIN IMMEDIATE")
    try:
        row = connection.execute("SELECT host, pid, started, token, expires FROM lease").fetchone()
        if row is not None and row[3] != token and row[4] > now and alive(Holder(*row[:3])):
            return False
        holder = me()
        connection.execute(
            "INSERT OR REPLACE INTO lease(one, host, pid, started, token, expires) "
            "VALUES (1, ?, ?, ?, ?, ?)",
            (holder.host, holder.pid, holder.started, token, now + TTL),
        )
        return True
    finally:
        connection.execute("COMMIT")


class Keeper:
    """Takes, renews and finally gives up the lease from its own thread, which also writes
    the WAL back to the database (a checkpoint) off the callers' threads."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._token = secrets.token_hex(8)
        self._held_until = 0.0  # time.monotonic() until which this process may send
        self._stop = threading.Event()
        self._keep()  # at once: a restarted process sends without waiting a renewal
        self._thread = threading.Thread(target=self._run, name="intercom-events-lease", daemon=True)
        self._thread.start()

    def holds(self) -> bool:
        """Whether this process may send now: it renewed the lease less than TTL - MARGIN ago."""
        return time.monotonic() < self._held_until

    def _keep(self) -> None:
        started = time.monotonic()
        try:
            held = hold(self._connection, self._token, time.time())
        except Exception:  # a busy or damaged file: not holding; the next turn tries again
            held = False
        self._held_until = started + TTL - MARGIN if held else 0.0

    def _run(self) -> None:
        renewed = time.monotonic()
        while not self._stop.wait(CHECKPOINT):
            if time.monotonic() - renewed >= RENEW:
                renewed = time.monotonic()
                self._keep()
            with contextlib.suppress(sqlite3.Error):  # a checkpoint is only an optimisation
                self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        try:
            let_go(self._connection, self._token)
        finally:
            self._connection.close()

    def stop(self) -> None:
        """Give the lease up and end the thread (waiting for it at most 2 s)."""
        self._held_until = 0.0
        self._stop.set()
        self._thread.join(2.0)


def let_go(connection: sqlite3.Connection, token: str) -> None:
    """Give the lease up, if ``token`` holds it."""
    connection.execute("DELETE FROM lease WHERE token = ?", (token,))


def holder(connection: sqlite3.Connection) -> tuple[Holder, float] | None:
    """Who holds the lease and until when (Unix seconds), or None: none was taken, or its
    holder is a process of this host that no longer runs (the next sender replaces it)."""
    row = connection.execute("SELECT host, pid, started, expires FROM lease").fetchone()
    if row is None or not alive(found := Holder(*row[:3])):
        return None
    return found, row[3]
