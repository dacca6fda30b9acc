"""Fault injection and Intercom's 10-second rate-limit windows, both deterministic.

Faults are rules drawn once per request, before the API sees it; randomness comes from
``random.Random(seed)`` so a failing test replays the same way. The rate limiter reads an
injectable clock so tests can step through windows without sleeping.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable

import attrs

FAULT_KINDS: tuple[str, ...] = (
    "500",
    "502",
    "503",
    "401",
    "403",
    "422",
    "429",
    "429_retry_after",
    "drop_before",
    "drop_after",
    "slow",
    "non_json",
    "html_502",
    "redirect",
)
WINDOW_SECONDS = 10
DEFAULT_SLOW_DELAY = 2.0
DEFAULT_LIMIT = 167  # what a 1,000-a-minute app gets per window; used when no limit is set
_HTML_502 = (
    "<html><head><title>502 Bad Gateway</title></head><body><center>"
    "<h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)
_ERRORS = {
    "500": (500, "server_error", "Internal Server Error"),
    "502": (502, "server_error", "Bad Gateway"),
    "503": (503, "service_unavailable", "Service Unavailable"),
    "401": (401, "unauthorized", "Access Token Invalid"),
    "403": (403, "forbidden", "The token may not write data events"),
    "422": (422, "parameter_invalid", "The event was refused"),
}


@attrs.frozen
class Fault:
    """The fault a request hits: its kind and, for ``slow``, the delay in seconds."""

    kind: str
    delay: float = DEFAULT_SLOW_DELAY


@attrs.frozen
class FaultAnswer:
    """What an answering fault sends: an Intercom ``error`` (code, message) or an HTML body."""

    status: int
    headers: dict[str, str] = attrs.field(factory=dict)
    error: tuple[str, str] | None = None
    html: str | None = None


def fault_answer(kind: str, *, limit: int | None, now: float, url: str) -> FaultAnswer:
    """The response for a fault that answers instead of the API (not drops, not ``slow``)."""
    if kind in _ERRORS:
        status, code, message = _ERRORS[kind]
        return FaultAnswer(status, error=(code, message))
    if kind in ("429", "429_retry_after"):
        limit = limit or DEFAULT_LIMIT
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(now) + 1),
        }
        if kind == "429_retry_after":
            headers["Retry-After"] = "1"
        message = f"Exceeded rate limit of {limit} in 10_seconds"
        return FaultAnswer(429, headers, error=("rate_limit_exceeded", message))
    if kind == "non_json":
        return FaultAnswer(200, html="<html><body>upstream error</body></html>")
    if kind == "html_502":
        return FaultAnswer(502, html=_HTML_502)
    if kind == "redirect":
        return FaultAnswer(302, {"Location": f"{url}/elsewhere"})
    raise ValueError(f"fault {kind!r} does not answer")


@attrs.define
class _Rule:
    fault: Fault
    first: int  # requests still forced to hit this fault
    rate: float | None  # probability per request once ``first`` is used up


class FaultPlan:
    """An ordered list of fault rules; the first rule that fires decides a request's fate.

    ``first=N`` forces the next N requests that reach this rule, ``rate=P`` hits each later
    one with probability P, neither means every request. Rules after the one that fired are
    not consulted, so ``inject("500", first=1); inject("429", first=1)`` scripts 500, 429, ok.
    """

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()

    def add(
        self,
        kind: str,
        *,
        first: int | None = None,
        rate: float | None = None,
        delay: float = DEFAULT_SLOW_DELAY,
    ) -> None:
        """Append a rule, validating it the way a test author would want (loudly)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if first is not None and (isinstance(first, bool) or not isinstance(first, int)):
            raise TypeError("first must be an int")
        if first is not None and first < 0:
            raise ValueError("first must be >= 0")
        if rate is not None and not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if delay < 0:
            raise ValueError("delay must be >= 0")
        if first is None and rate is None:
            rate = 1.0
        with self._lock:
            self._rules.append(_Rule(Fault(kind, float(delay)), first or 0, rate))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def draw(self) -> Fault | None:
        """The fault the next request hits, or None; consumes ``first`` counts and random draws."""
        with self._lock:
            hit: Fault | None = None
            for rule in self._rules:
                if rule.first > 0:
                    rule.first -= 1
                    hit = rule.fault
                    break
                if rule.rate is not None and (
                    rule.rate >= 1.0 or self._random.random() < rule.rate
                ):
                    hit = rule.fault
                    break
            self._rules = [r for r in self._rules if r.first > 0 or r.rate is not None]
            return hit


@attrs.frozen
class WindowCount:
    """One rate-limit window as the fake counted it."""

    start: int
    """The window's start, Unix seconds on the fake's clock."""
    allowed: int
    """Requests answered normally in the window."""
    refused: int
    """Requests refused with 429 in the window."""


class RateLimiter:
    """N requests per window (10 s, as Intercom's), windows aligned to ``floor(now / window)``."""

    def __init__(
        self, limit: int, clock: Callable[[], float], window: int = WINDOW_SECONDS
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._window: int | None = None
        self._count = 0
        self._lock = threading.Lock()
        self._tally: dict[int, list[int]] = {}

    def windows(self) -> list[WindowCount]:
        """What each window that saw a request allowed and refused, oldest first."""
        with self._lock:
            return [
                WindowCount(start=index * self.window, allowed=allowed, refused=refused)
                for index, (allowed, refused) in sorted(self._tally.items())
            ]

    def hit(self) -> tuple[bool, dict[str, str]]:
        """Count one request; return whether it is allowed and the ``X-RateLimit-*`` headers."""
        with self._lock:
            window = math.floor(self._clock() / self.window)
            if window != self._window:
                self._window, self._count = window, 0
            self._count += 1
            allowed = self._count <= self.limit
            self._tally.setdefault(window, [0, 0])[0 if allowed else 1] += 1
            headers = {
                "X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(max(0, self.limit - self._count)),
                "X-RateLimit-Reset": str((window + 1) * self.window),
            }
            return allowed, headers
