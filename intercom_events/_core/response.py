"""Reading a response: the raw view, and the typed error for a non-2xx status."""

from __future__ import annotations

import json
from typing import Generic, TypeVar

import attrs

from ..errors import APIStatusError, ErrorDetail, status_error_class
from .headers import Headers
from .hints import HINTED_STATUSES, hinted_wait
from .ratelimit import RateLimit, parse_rate_limit

__all__ = ["IntercomHttpResponse", "status_error"]

T_co = TypeVar("T_co", covariant=True)


@attrs.frozen
class IntercomHttpResponse(Generic[T_co]):
    """A response with its metadata: what ``client.with_raw_response`` calls return.

    ``headers`` is case-insensitive; ``data`` is the decoded model; ``retries_taken`` counts
    the attempts that were repeated before this one.
    """

    status_code: int
    headers: Headers
    data: T_co
    retries_taken: int = 0

    @property
    def request_id(self) -> str | None:
        """Intercom's id of the request (``X-Request-Id``), for support tickets and logs."""
        return self.headers.get("x-request-id")

    @property
    def rate_limit(self) -> RateLimit | None:
        """The rate-limit window this response reports, if it reports one."""
        return parse_rate_limit(self.headers)


def _error_details(body: bytes) -> tuple[list[ErrorDetail], str | None]:
    """Intercom's ``error.list`` entries and request id; empty for any other body."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return [], None
    if not isinstance(data, dict) or not isinstance(data.get("errors"), list):
        return [], None
    details = [
        ErrorDetail(
            code=str(item.get("code")),
            message=_opt_str(item.get("message")),
            field=_opt_str(item.get("field")),
        )
        for item in data["errors"]
        if isinstance(item, dict) and item.get("code") is not None
    ]
    return details, _opt_str(data.get("request_id"))


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def status_error(status: int, headers: Headers, body: bytes, *, now: float) -> APIStatusError:
    """The typed error for a non-2xx response, with Intercom's error details when present."""
    details, body_request_id = _error_details(body)
    retry_after = hinted_wait(headers, now) if status in HINTED_STATUSES else None
    return status_error_class(status)(
        status_code=status,
        headers=headers,
        body=body,
        request_id=headers.get("x-request-id") or body_request_id,
        errors=details,
        retry_after=retry_after,
    )
