"""When to try a request again, and how long to wait first: a pure decision, no I/O.

Both executors ask :func:`decide` after every attempt; they only sleep and resend.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from enum import Enum

import attrs

from .errors import APIConnectionError, APITimeoutError
from .spec import Headers

__all__ = ["Retry", "RetryClass", "RetryPolicy", "decide", "hinted_wait", "reset_wait"]

RETRYABLE_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))
HINTED_STATUSES = frozenset({429, 503})


class RetryClass(Enum):
    """How safe it is to send a request twice."""

    IDEMPOTENT = "idempotent"
    """Repeats are harmless: reads, and events whose ``created_at`` is pinned (de-duplicated)."""

    UNLESS_APPLIED = "unless_applied"
    """Repeats may double-count (summaries): retry only when the first surely did not apply."""


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """Backoff settings: wait ``uniform(0.5, 1) * min(cap, base * 2**(k-1))`` before retry k.

    A server's hint (``Retry-After`` or ``X-RateLimit-Reset``) on 429 and 503 replaces the
    backoff; a hint longer than ``max_wait`` raises at once instead of blocking.
    """

    base: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    cap: float = attrs.field(default=8.0, validator=attrs.validators.ge(0))
    max_wait: float = attrs.field(default=60.0, validator=attrs.validators.ge(0))

    def backoff(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number ``retry`` (from 1), with jitter."""
        return (0.5 + 0.5 * rand()) * min(self.cap, self.base * 2.0 ** (retry - 1))


@attrs.frozen
class Retry:
    """Try again after ``after`` seconds."""

    after: float


def hinted_wait(headers: Headers, now: float) -> float | None:
    """Seconds the server asks us to wait: ``Retry-After``, else ``X-RateLimit-Reset``.

    ``X-RateLimit-Reset`` is measured against the response's ``Date`` when present, so a
    skewed local clock does not matter; ``now`` is used otherwise.
    """
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        retry_after = retry_after.strip()
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            moment = _http_date(retry_after)
            if moment is not None:
                return max(0.0, moment - _server_now(headers, now))
    return reset_wait(headers, now)


def reset_wait(headers: Headers, now: float) -> float | None:
    """Seconds until ``X-RateLimit-Reset``, measured against the response's ``Date``."""
    reset = headers.get("x-ratelimit-reset")
    if reset is None:
        return None
    try:
        return max(0.0, float(reset) - _server_now(headers, now))
    except ValueError:
        return None


def _http_date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def _server_now(headers: Headers, now: float) -> float:
    date = headers.get("date")
    moment = _http_date(date) if date else None
    return now if moment is None else moment


def decide(
    *,
    retry_class: RetryClass,
    retries_taken: int,
    max_retries: int,
    policy: RetryPolicy,
    status: int | None,
    headers: Headers | None,
    error: APIConnectionError | None,
    now: float,
    rand: Callable[[], float] = random.random,
) -> Retry | None:
    """``Retry(after)`` if the attempt should be repeated, None if its outcome is final.

    Final: a success, an error not worth retrying, retries used up, or a server hint longer
    than ``policy.max_wait`` (the error then carries the hint as ``retry_after``).
    """
    if error is None and status is not None and status < 400:
        return None
    if not _retryable(retry_class, status, error):
        return None
    if retries_taken >= max_retries:
        return None
    hint = None
    if status in HINTED_STATUSES and headers is not None:
        hint = hinted_wait(headers, now)
    if hint is not None:
        if hint > policy.max_wait:
            return None
        return Retry(after=hint)
    return Retry(after=policy.backoff(retries_taken + 1, rand))


def _retryable(retry_class: RetryClass, status: int | None, error: Exception | None) -> bool:
    if retry_class is RetryClass.UNLESS_APPLIED:
        if error is not None:
            return isinstance(error, APIConnectionError) and not error.request_sent
        return status in HINTED_STATUSES
    if error is not None:
        return isinstance(error, APIConnectionError | APITimeoutError)
    return status in RETRYABLE_STATUSES
