"""What a rate gate shared by a fleet decides, without I/O or locks.

A shared store (``_fleet``: Redis) keeps one window for every process of every host; this
module says what each process tells it and what its answers mean. Windows are named by the
server's own ``X-RateLimit-Reset`` and compared against the server's clock, which the store
keeps as an offset from its own clock, learnt from responses' ``Date``: no host's clock is
read at all. When the store is slow or down, :class:`Breaker` sends the gate back to its
in-process window until the next retry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import attrs

from .headers import Headers
from .hints import response_date
from .ratelimit import MARGIN, PROBE_POLL, parse_rate_limit

__all__ = [
    "GRANTED",
    "SLOW",
    "Breaker",
    "Report",
    "answer",
    "report",
]

SLOW = 0.05
"""Seconds a store command may take before the gate falls back to its own window."""
RETRY_EVERY = 10.0
"""Seconds between tries of a store that failed."""
PROBE_TTL = 2.0
"""Seconds the fleet's one first request holds the probe, should it never come back."""
IDLE = 600.0
"""Seconds an unused window stays in the store."""
STEP = 2.0
"""A reading of the server's clock this far below the best one means a clock stepped."""

GRANTED, BUSY, FULL = 0, 1, 2
"""The store's answers to a reserve: a slot; the first request is out; the window is spent."""


@attrs.frozen
class Report:
    """One response's window, as the store records it (times on the server's clock)."""

    limit: int
    """The window's allowance; 0 when the response reported no limit."""
    used: int
    """Requests the server counted in the window."""
    reset: int
    """When the window ends (``X-RateLimit-Reset``); its name in the store."""
    date: float | None
    """The response's ``Date``: the server's clock, at most the truth (whole seconds, and
    written before the response travelled). The store keeps the best reading (the highest
    offset from its own clock), or a much lower one after a clock step (:data:`STEP`)."""

    def args(self) -> list[str | int]:
        """The script's arguments for this report (``""``: no ``Date``)."""
        date = "" if self.date is None else f"{self.date:.3f}"
        return [self.limit, self.used, self.reset, date, f"{STEP:g}"]


def report(headers: Headers | None) -> Report | None:
    """What to record for an attempt's response; None when there was no response."""
    if headers is None:
        return None
    date = response_date(headers)
    limit = parse_rate_limit(headers)
    if limit is None:
        return Report(limit=0, used=0, reset=0, date=date)
    used = limit.limit - limit.remaining
    return Report(limit=limit.limit, used=used, reset=limit.reset, date=date)


def answer(reply: object) -> float:
    """The seconds to wait that a store's reply to a reserve means (0: a slot taken).

    Raises ``ValueError`` for a reply that is none of the store's answers.
    """
    if isinstance(reply, str | bytes) or not isinstance(reply, Sequence) or len(reply) != 2:
        raise ValueError(f"not a gate reply: {reply!r}")
    if not all(isinstance(part, int) and not isinstance(part, bool) for part in reply):
        raise ValueError(f"not a gate reply: {reply!r}")
    kind, millis = int(reply[0]), int(reply[1])
    if kind == GRANTED:
        return 0.0
    if kind == BUSY:
        return PROBE_POLL
    if kind == FULL and millis >= 0:
        return millis / 1000 + MARGIN
    raise ValueError(f"not a gate reply: {reply!r}")


class Breaker:
    """When a gate uses its store and when its own window, with the counts it keeps.

    A command that fails or takes over ``slow`` seconds opens the breaker: the gate uses its
    in-process window for ``retry_every`` seconds, then tries the store again. Times are
    ``time.monotonic()``.
    """

    def __init__(self, *, slow: float = SLOW, retry_every: float = RETRY_EVERY) -> None:
        self.slow = slow
        self.retry_every = retry_every
        self.down = False
        self._retry_at = 0.0
        self.granted = 0
        self.waited = 0
        self.fallbacks = 0

    def use_store(self, now: float) -> bool:
        """Whether to ask the store now (up, or down long enough to try again)."""
        return not self.down or now >= self._retry_at

    def after(self, elapsed: float | None, now: float) -> Literal["down", "back"] | None:
        """A command ended: answered in ``elapsed`` seconds, or failed (None).

        Returns ``"down"`` when this starts an outage (say so, once) and ``"back"`` when the
        store answers in time again.
        """
        if elapsed is None or elapsed > self.slow:
            self._retry_at = now + self.retry_every
            if self.down:
                return None
            self.down = True
            self.fallbacks += 1
            return "down"
        if self.down:
            self.down = False
            return "back"
        return None

    def counted(self, wait: float) -> float:
        """Count a store's answer to a reserve; return it."""
        if wait:
            self.waited += 1
        else:
            self.granted += 1
        return wait
