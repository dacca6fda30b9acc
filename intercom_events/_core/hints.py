"""The server's hints on when to come back: ``Retry-After`` and ``X-RateLimit-Reset``.

Read in one place for the retry decision, the rate-limit gate and the errors' ``retry_after``.
"""

from __future__ import annotations

import math
from email.utils import parsedate_to_datetime

from .headers import Headers

__all__ = ["HINTED_STATUSES", "hinted_wait", "reset_wait", "response_date"]

HINTED_STATUSES = frozenset({429, 503})
"""The statuses whose hint decides the wait before a retry."""


def hinted_wait(headers: Headers, now: float) -> float | None:
    """Seconds the server asks us to wait: ``Retry-After``, else ``X-RateLimit-Reset``.

    ``X-RateLimit-Reset`` is measured against the response's ``Date`` when present, so a
    skewed local clock does not matter; ``now`` is used otherwise.
    """
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        seconds = _retry_after(retry_after.strip(), headers, now)
        if seconds is not None:
            return seconds
    return reset_wait(headers, now)


def _retry_after(value: str, headers: Headers, now: float) -> float | None:
    """``Retry-After`` as seconds or an HTTP date; None when it is neither (``nan`` too)."""
    try:
        seconds: float | None = float(value)
    except ValueError:
        moment = _http_date(value)
        seconds = None if moment is None else moment - _server_now(headers, now)
    return max(0.0, seconds) if seconds is not None and math.isfinite(seconds) else None


def reset_wait(headers: Headers, now: float) -> float | None:
    """Seconds until ``X-RateLimit-Reset``, measured against the response's ``Date``."""
    reset = headers.get("x-ratelimit-reset")
    if reset is None:
        return None
    try:
        seconds = float(reset) - _server_now(headers, now)
    except ValueError:
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _http_date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def response_date(headers: Headers) -> float | None:
    """The response's ``Date`` as Unix time, or None when it has none that parses."""
    date = headers.get("date")
    moment = _http_date(date) if date else None
    return moment if moment is not None and math.isfinite(moment) else None


def _server_now(headers: Headers, now: float) -> float:
    moment = response_date(headers)
    return now if moment is None else moment
