"""The exceptions the SDK raises, one class per kind of failure.

Every exception derives from :class:`IntercomError`. A non-2xx answer raises an
:class:`APIStatusError` subclass chosen by status; a network failure raises
:class:`APIConnectionError`; bad input raises :class:`InvalidEventError` before
anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "ErrorDetail",
    "ForbiddenError",
    "IntercomError",
    "IntercomEventWarning",
    "InternalServerError",
    "InvalidEventError",
    "NotFoundError",
    "OutboxFullError",
    "ResponseDecodeError",
    "TooManyRequestsError",
    "UnauthorizedError",
    "UnprocessableEntityError",
    "status_error_class",
]


@attrs.frozen
class ErrorDetail:
    """One entry of Intercom's ``error.list``: a machine code, a message and the field."""

    code: str
    message: str | None = None
    field: str | None = None


class IntercomError(Exception):
    """Base class of every exception raised by intercom-events."""


class InvalidEventError(IntercomError, ValueError):
    """Input that breaks a rule of the API, caught before anything is sent.

    ``field`` names the argument (or metadata key) at fault, ``rule`` says what it must be.
    """

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")


class ClientClosedError(IntercomError, RuntimeError):
    """The client was closed: it takes no new calls (make a new client)."""


class OutboxFullError(IntercomError):
    """``track()`` found the outbox holding ``max_events`` undelivered events: nothing was
    stored (nothing is ever dropped silently). Flush, or give the outbox more room."""


class IntercomEventWarning(UserWarning):
    """Input Intercom accepts but changes, such as an event name with ``.`` or ``$``."""


class APIConnectionError(IntercomError):
    """The request could not be completed: connection refused, reset or dropped.

    ``request_sent`` is False only when the request surely never reached the server
    (connection refused, connect timeout), which makes a retry of a non-idempotent call safe.
    """

    def __init__(self, message: str, *, request_sent: bool = True) -> None:
        self.request_sent = request_sent
        super().__init__(message)


class APITimeoutError(APIConnectionError):
    """No response within the timeout of one attempt."""


def _snippet(body: bytes, limit: int = 200) -> str:
    text = body[:limit].decode("utf-8", errors="replace")
    return text + ("…" if len(body) > limit else "")


class ResponseDecodeError(IntercomError):
    """A 2xx response whose body is not the JSON the API promises."""

    def __init__(self, message: str, *, status_code: int, body: bytes) -> None:
        self.status_code = status_code
        self.body = body
        super().__init__(f"{message} (status {status_code}, body {_snippet(body)!r})")


class APIStatusError(IntercomError):
    """Intercom (or something in front of it) answered with a non-2xx status."""

    def __init__(
        self,
        *,
        status_code: int,
        headers: Mapping[str, str],
        body: bytes,
        request_id: str | None,
        errors: Sequence[ErrorDetail],
        retry_after: float | None = None,
    ) -> None:
        self.status_code = status_code
        self.headers = headers
        self.body = body
        self.request_id = request_id
        self.errors = list(errors)
        self.retry_after = retry_after
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [f"HTTP {self.status_code}"]
        if self.errors:
            parts.append(
                "; ".join(f"{e.code}: {e.message or ''}".rstrip(": ") for e in self.errors)
            )
        elif self.body:
            parts.append(repr(_snippet(self.body, 100)))
        if self.request_id:
            parts.append(f"(request id {self.request_id})")
        if self.retry_after is not None:
            parts.append(f"(retry after {self.retry_after:g} s)")
        return " ".join(parts)


class BadRequestError(APIStatusError):
    """400: the request body or query is invalid."""


class UnauthorizedError(APIStatusError):
    """401: the access token is missing, invalid or revoked."""


class ForbiddenError(APIStatusError):
    """403: the token lacks the permission this call needs."""


class NotFoundError(APIStatusError):
    """404: the user or lead does not exist."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the current state."""


class UnprocessableEntityError(APIStatusError):
    """422: the request is well-formed but cannot be processed."""


class TooManyRequestsError(APIStatusError):
    """429: the rate limit is exhausted; ``retry_after`` says for how long, when known."""


class InternalServerError(APIStatusError):
    """5xx: Intercom or a proxy in front of it failed."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: TooManyRequestsError,
}


def status_error_class(status: int) -> type[APIStatusError]:
    """The exception class for a non-2xx status."""
    if status >= 500:
        return InternalServerError
    return _BY_STATUS.get(status, APIStatusError)
