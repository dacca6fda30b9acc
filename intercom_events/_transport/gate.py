"""The in-process rate-limit gate: one client's :class:`RateWindow` behind a lock.

Shared by a sync client's threads (the lock) and by an async client's tasks (the async
methods never wait: the lock is held only for a few arithmetic steps).
"""

from __future__ import annotations

import threading

from .._core.headers import Headers
from .._core.ratelimit import RateLimit, RateWindow
from .forks import renew_after_fork

__all__ = ["LocalRateGate"]


class LocalRateGate:
    """A :class:`~intercom_events._core.ratelimit.RateGate` kept in this process."""

    def __init__(self) -> None:
        self._window = RateWindow()
        self._lock = threading.Lock()
        renew_after_fork(self)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # the parent's may have been held by another thread
        self._window.forked()

    @property
    def latest(self) -> RateLimit | None:
        """The window the latest response reported (None before any did)."""
        return self._window.latest

    def reserve(self, now: float) -> float:
        """0 and a slot taken, or the seconds to wait before asking again."""
        with self._lock:
            return self._window.reserve(now)

    def record(self, headers: Headers | None, now: float) -> None:
        """An attempt ended: with its response's headers, or None (no response)."""
        with self._lock:
            self._window.record(headers, now)

    async def reserve_async(self, now: float) -> float:
        """:meth:`reserve`; it never waits, so it is safe in the loop."""
        return self.reserve(now)

    async def record_async(self, headers: Headers | None, now: float) -> None:
        """:meth:`record`; it never waits, so it is safe in the loop."""
        self.record(headers, now)
