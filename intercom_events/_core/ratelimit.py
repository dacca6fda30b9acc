"""Intercom's rate-limit headers (:class:`RateLimit`), the window they describe
(:class:`RateWindow`, lock-free state) and the gate interface executors call (:class:`RateGate`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Protocol

import attrs

from .headers import Headers
from .hints import reset_wait

__all__ = ["RateGate", "RateLimit", "RateWindow", "parse_rate_limit"]


@attrs.frozen
class RateLimit:
    """The allowance of the current 10-second window, from ``X-RateLimit-*`` headers.

    ``reset`` is the Unix time (seconds) at which the window ends and ``remaining`` refills.
    """

    limit: int
    remaining: int
    reset: int

    @property
    def reset_at(self) -> datetime:
        """``reset`` as an aware datetime."""
        return datetime.fromtimestamp(self.reset, UTC)


def parse_rate_limit(headers: Headers) -> RateLimit | None:
    """The rate limit a response reports, or None when it sends no valid headers.

    A limit below 1, a negative remaining count or a reset that is not a time count as absent.
    """
    try:
        limit = int(headers["x-ratelimit-limit"])
        remaining = int(headers["x-ratelimit-remaining"])
        reset = float(headers["x-ratelimit-reset"])
    except (KeyError, ValueError):
        return None
    # A window of no requests, a negative count or a reset that is no time is no window:
    # trusting it would make every caller wait for ever.
    if limit < 1 or remaining < 0 or not math.isfinite(reset) or reset < 0:
        return None
    return RateLimit(limit=limit, remaining=min(remaining, limit), reset=int(reset))


LONGEST = 60.0
"""A reset further ahead than this (seconds) describes no window of Intercom's (10 s)."""
MARGIN = 0.05
"""Seconds added to a wait so the first request lands inside the new window."""


PROBE_POLL = 0.01
"""Seconds between looks while the first request learns whether there is a limit."""


class RateGate(Protocol):
    """What an executor asks before each attempt and tells after it.

    The sync executor calls :meth:`reserve` and :meth:`record`; the async one awaits
    :meth:`reserve_async` and :meth:`record_async`, so a gate whose state lives elsewhere
    (Redis) never blocks the loop. An attempt cut short (cancelled, Ctrl-C) is recorded with
    the sync :meth:`record` and ``headers=None``: that call must not wait.
    """

    @property
    def latest(self) -> RateLimit | None:
        """The window the latest response reported (None before any did)."""
        ...  # pragma: no cover

    def reserve(self, now: float) -> float:
        """0 and a slot taken, or the seconds to wait before asking again."""
        ...  # pragma: no cover

    def record(self, headers: Headers | None, now: float) -> None:
        """An attempt ended: with its response's headers, or None (no response)."""
        ...  # pragma: no cover

    async def reserve_async(self, now: float) -> float:
        """:meth:`reserve`, for the async executor."""
        ...  # pragma: no cover

    async def record_async(self, headers: Headers | None, now: float) -> None:
        """:meth:`record`, for the async executor."""
        ...  # pragma: no cover


class RateWindow:
    """One client's view of its rate-limit window, as state without locks or clocks.

    Each response's ``X-RateLimit-*`` headers update it; before each attempt an executor asks
    :meth:`reserve` and sleeps for the answer. When the window's allowance is spent, callers
    wait for the reset instead of firing into 429s. Requests in flight count against the
    allowance, so concurrent callers do not overshoot it; until the first response says
    whether there is a limit at all, one request goes at a time. Callers that share it across
    threads hold a lock around each method (see ``_transport.gate``).
    """

    def __init__(self) -> None:
        self.latest: RateLimit | None = None
        self._known = False  # has any response come back yet?
        self._remaining: int | None = None  # None: no limit reported
        self._reset_at: float | None = None  # local clock; None: the window's end is not told
        self._in_flight = 0

    def reserve(self, now: float) -> float:
        """0 and a slot taken, or the seconds to wait before asking again."""
        if not self._known and self._in_flight:
            return PROBE_POLL
        if self._reset_at is not None and now >= self._reset_at:
            self._roll_over()
        if self._remaining is None or self._remaining > 0:
            if self._remaining is not None:
                self._remaining -= 1
            self._in_flight += 1
            return 0.0
        if self._reset_at is None:  # spent before an answer told when this window ends
            return PROBE_POLL
        return self._reset_at - now + MARGIN

    def record(self, headers: Headers | None, now: float) -> None:
        """An attempt ended: with a response's headers, or None (no response)."""
        self._in_flight = max(0, self._in_flight - 1)
        if headers is None:
            return
        self._known = True
        limit = parse_rate_limit(headers)
        wait = reset_wait(headers, now) if limit else None
        if limit is None or not wait or wait > LONGEST:  # no limit, or a window already over
            return
        self.latest = limit
        reset_at = now + wait
        fresh = max(0, limit.remaining - self._in_flight)
        same = self._reset_at is None or abs(reset_at - self._reset_at) <= 1
        if self._remaining is not None and same:
            self._remaining = min(self._remaining, fresh)  # same window: trust the lowest
            self._reset_at = self._reset_at or reset_at
        else:
            self._remaining, self._reset_at = fresh, reset_at

    def forked(self) -> None:
        """In a forked child: the parent's requests in flight will never end here."""
        self._in_flight = 0

    def _roll_over(self) -> None:
        """The window ended: the next one's allowance is there at once; its end, and the
        window's length, the next answer tells (nothing assumes Intercom's 10 s)."""
        self._remaining = self.latest.limit if self.latest else 0
        self._reset_at = None
        self._in_flight = 0
