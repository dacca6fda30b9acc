"""Intercom's rate-limit headers, read into :class:`RateLimit`."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs

from .spec import Headers

__all__ = ["RateLimit", "parse_rate_limit"]


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
    """The rate limit a response reports, or None when it sends no (valid) headers."""
    try:
        return RateLimit(
            limit=int(headers["x-ratelimit-limit"]),
            remaining=int(headers["x-ratelimit-remaining"]),
            reset=int(float(headers["x-ratelimit-reset"])),
        )
    except (KeyError, ValueError):
        return None
