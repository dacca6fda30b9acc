"""When to try a request again, and how long to wait first: a pure decision, no I/O.

Both executors ask :func:`decide` after every attempt; they only sleep and resend.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from enum import Enum

import attrs

from ..errors import APIConnectionError, APITimeoutError
from .checks import attr, number
from .headers import Headers
from .hints import HINTED_STATUSES, hinted_wait

__all__ = ["Retry", "RetryClass", "RetryPolicy", "decide"]

RETRYABLE_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))


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

    base: float = attrs.field(default=0.5, validator=attr(number))
    cap: float = attrs.field(default=8.0, validator=attr(number))
    max_wait: float = attrs.field(default=60.0, validator=attr(number))

    def backoff(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number ``retry`` (from 1), with jitter."""
        return (0.5 + 0.5 * rand()) * min(self.cap, self.base * 2.0 ** (retry - 1))


@attrs.frozen
class Retry:
    """Try again after ``after`` seconds."""

    after: float


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
