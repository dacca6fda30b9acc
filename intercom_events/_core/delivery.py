"""What happens to a tracked event after an attempt: the tracking sender's decisions.

The sender sends each event once per attempt (``max_retries=0``) and asks :func:`fate` what
the outcome means. Unlike a direct call, a tracked event is never given up on for a transient
failure: it waits and goes again for as long as the process lives, with backoff capped at
:data:`CAP`. 401/403 pause the whole sender (one event probes, with the same backoff); a 404
(the contact may not exist yet) is retried for ``unknown_user_retry`` seconds; a refusal
(400, 422, other 4xx, an event the rules refuse) is a dead letter at once.
"""

from __future__ import annotations

import enum
import random

import attrs

from ..errors import (
    APIStatusError,
    ForbiddenError,
    InvalidEventError,
    NotFoundError,
    ResponseDecodeError,
    UnauthorizedError,
)

__all__ = ["CAP", "Fate", "Verdict", "backoff", "fate"]

CAP = 60.0
"""The longest wait between two attempts of a tracked event, or two probes of a paused sender."""
BASE = 0.5
"""The first wait."""


class Fate(enum.Enum):
    """Where an event goes after an attempt."""

    DELIVERED = "delivered"
    RETRY = "retry"
    """Back to the outbox, due again after ``Verdict.after`` seconds."""
    PAUSE = "pause"
    """Credentials refused: the sender pauses, the event stays pending."""
    DEAD = "dead"
    """Refused for good: kept with its error as a dead letter."""


@attrs.frozen
class Verdict:
    """A :class:`Fate`, with the wait before the next attempt and when 404s began."""

    fate: Fate
    after: float = 0.0
    unknown_since: float | None = None


def backoff(attempt: int, *, cap: float = CAP, jitter: float | None = None) -> float:
    """Seconds before attempt ``attempt + 1`` (from 1): ``0.5·2^(k-1)``, capped, jittered down
    to half at most (``jitter`` in [0, 1]: a test's fixed draw)."""
    draw = random.random() if jitter is None else jitter
    return float((0.5 + draw / 2) * min(cap, BASE * 2.0 ** min(attempt - 1, 30)))


def fate(
    error: Exception | None,
    *,
    attempts: int,
    unknown_since: float | None,
    now: float,
    unknown_user_retry: float,
    jitter: float | None = None,
) -> Verdict:
    """The verdict on attempt number ``attempts`` (from 1) of an event, ending in ``error``."""
    if error is None:
        return Verdict(Fate.DELIVERED)
    if isinstance(error, ResponseDecodeError):  # a 2xx: Intercom took it
        return Verdict(Fate.DELIVERED)
    if isinstance(error, UnauthorizedError | ForbiddenError):
        return Verdict(Fate.PAUSE)
    if isinstance(error, NotFoundError):
        since = now if unknown_since is None else unknown_since
        if now - since >= unknown_user_retry:
            return Verdict(Fate.DEAD, unknown_since=since)
        wait = min(backoff(attempts, jitter=jitter), max(0.0, since + unknown_user_retry - now))
        return Verdict(Fate.RETRY, wait, unknown_since=since)
    if isinstance(error, APIStatusError) and _transient(error.status_code):
        wait = backoff(attempts, jitter=jitter)
        if error.retry_after is not None:  # the server's hint, in full, within the cap
            wait = min(CAP, max(wait, error.retry_after))
        return Verdict(Fate.RETRY, wait, unknown_since=unknown_since)
    if isinstance(error, APIStatusError | InvalidEventError):
        return Verdict(Fate.DEAD, unknown_since=unknown_since)
    # Connection errors and timeouts (APIConnectionError); anything unforeseen is retried
    # too: an event is never lost to a surprise.
    return Verdict(Fate.RETRY, backoff(attempts, jitter=jitter), unknown_since=unknown_since)


def _transient(status: int) -> bool:
    return status in (408, 429) or status >= 500
