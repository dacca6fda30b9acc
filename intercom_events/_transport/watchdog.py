"""A deadline for a whole sync attempt: connect, headers and body.

``requests`` applies its timeout to each socket read, so a server sending a byte every half
second keeps a call alive for ever. The executor's own session uses connections that note
which thread is using them; at an attempt's deadline the :class:`Watchdog` shuts that socket
down, which ends any blocked read at once.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from .forks import renew_after_fork

__all__ = ["Deadline", "Watchdog", "in_use"]

_IN_USE: dict[int, Any] = {}
"""Thread ident -> the urllib3 connection that thread is sending on (our sessions only)."""


def in_use(connection: Any) -> None:
    """Called by our urllib3 connections as a request starts on them."""
    _IN_USE[threading.get_ident()] = connection


class Deadline:
    """One attempt's deadline; :attr:`passed` once the watchdog has cut it."""

    __slots__ = ("at", "passed")

    def __init__(self, at: float) -> None:
        self.at = at
        self.passed = False


class Watchdog:
    """One daemon thread per executor, sleeping until the earliest deadline."""

    def __init__(self) -> None:
        self._fresh()
        renew_after_fork(self)

    def _after_fork(self) -> None:
        _IN_USE.clear()  # the child has none of the parent's threads
        self._fresh()

    def _fresh(self) -> None:
        self._lock = threading.Condition()
        self._deadlines: dict[int, Deadline] = {}
        self._thread: threading.Thread | None = None
        self._wake_at = float("inf")  # when the thread next looks (it may be stale: early)

    @contextmanager
    def deadline(self, seconds: float | None) -> Iterator[Deadline]:
        """Watch the calling thread's attempt for ``seconds`` (None: not at all)."""
        ident = threading.get_ident()
        deadline = Deadline(float("inf") if seconds is None else time.monotonic() + seconds)
        if seconds is not None:
            with self._lock:
                self._deadlines[ident] = deadline
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="intercom-events-watchdog", daemon=True
                    )
                    self._thread.start()
                if deadline.at < self._wake_at:  # else it looks in time anyway: no wake-up
                    self._lock.notify()
        try:
            yield deadline
        finally:
            with self._lock:
                self._deadlines.pop(ident, None)
                _IN_USE.pop(ident, None)

    def cut_all(self) -> None:
        """Cut every attempt being watched now (the client is closing)."""
        with self._lock:
            for ident, deadline in self._deadlines.items():
                deadline.passed = True
                _shut_down(_IN_USE.get(ident))

    def _run(self) -> None:
        with self._lock:
            while True:
                now = time.monotonic()
                for ident, deadline in list(self._deadlines.items()):
                    if deadline.at <= now and not deadline.passed:
                        deadline.passed = True
                        _shut_down(_IN_USE.get(ident))
                waiting = [d.at for d in self._deadlines.values() if not d.passed]
                self._wake_at = min(waiting, default=float("inf"))
                self._lock.wait(self._wake_at - now if waiting else None)


def _shut_down(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None or list(_IN_USE.values()).count(connection) != 1:
        return  # not connected yet (the connect timeout bounds that), or no longer ours alone
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
