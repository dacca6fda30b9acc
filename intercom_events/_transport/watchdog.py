"""A deadline for a whole sync attempt: connect, headers and body.

``requests`` applies its timeout to each socket read, so a server sending a byte every half
second keeps a call alive for ever. The executor's own session uses connections that note
which thread is using them; at an attempt's deadline the :class:`Watchdog` shuts that socket
down, which ends any blocked read at once.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, ClassVar

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

    _all: ClassVar[weakref.WeakSet[Watchdog]] = weakref.WeakSet()

    def __init__(self) -> None:
        self._reset()
        Watchdog._all.add(self)

    def _reset(self) -> None:
        self._lock = threading.Condition()
        self._deadlines: dict[int, Deadline] = {}
        self._thread: threading.Thread | None = None

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
                self._lock.notify()
        try:
            yield deadline
        finally:
            with self._lock:
                self._deadlines.pop(ident, None)
                _IN_USE.pop(ident, None)

    def _run(self) -> None:
        with self._lock:
            while True:
                now = time.monotonic()
                for ident, deadline in list(self._deadlines.items()):
                    if deadline.at <= now and not deadline.passed:
                        deadline.passed = True
                        _shut_down(_IN_USE.get(ident))
                waiting = [d.at for d in self._deadlines.values() if not d.passed]
                self._lock.wait(min(waiting) - now if waiting else None)


def _shut_down(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is None or list(_IN_USE.values()).count(connection) != 1:
        return  # not connected yet (the connect timeout bounds that), or no longer ours alone
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _after_fork() -> None:
    # The child has none of the parent's threads: each watchdog starts afresh, unlocked.
    _IN_USE.clear()
    for watchdog in list(Watchdog._all):
        watchdog._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
