"""One logical call: its request, how to decode its answer, and the attempts it takes.

Executors drive :class:`Attempts` and the rate gate in a few lines::

    attempts = Attempts(call)
    while True:
        attempts.before_attempt(closing=closed)  # a closing client retries nothing
        if wait := gate.reserve(time.time()):  # the rate-limit window is spent
            sleep(attempts.gate_wait(wait))
            continue
        try:
            outcome = send(call.spec)          # a RawResponse or an APIConnectionError
        except BaseException:                  # cancelled, Ctrl-C: free the gate's slot
            gate.record(None, time.time())
            raise
        gate.record(headers_of(outcome), time.time())
        step = attempts.step(outcome, closing=closed)
        if isinstance(step, Retry):
            sleep(step.after)
            continue
        return step                            # an IntercomHttpResponse, or it raised

Every decision (retry or not, how long to wait, which error, what to log) is made here.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from typing import Generic, TypeVar
from urllib.parse import urlsplit

import attrs

from ..errors import APIConnectionError, APITimeoutError, ResponseDecodeError
from .headers import Headers
from .response import IntercomHttpResponse, status_error
from .retry import Retry, RetryClass, decide
from .spec import RequestSpec

__all__ = [
    "Attempts",
    "Call",
    "LibraryError",
    "RawResponse",
    "closed_mid_call",
    "connection_error",
    "headers_of",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
log = logging.getLogger("intercom_events")


@attrs.frozen
class RawResponse:
    """What came back from one attempt, before any interpretation.

    ``problem`` says why ``body`` is not the whole body (see ``_core.body``), or is None.
    """

    status: int
    headers: Headers
    body: bytes
    problem: str | None = None


@attrs.frozen
class Call(Generic[T_co]):
    """A request to send and how to turn its 2xx answer into a model."""

    spec: RequestSpec
    decode: Callable[[int, bytes], T_co]


class Attempts(Generic[T]):
    """The state of one call's attempts: decides after each whether to retry, and finishes."""

    def __init__(
        self,
        call: Call[T],
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.call = call
        self.retries_taken = 0
        self._clock = clock
        self._monotonic = monotonic
        self._mark = monotonic()

    def gate_wait(self, wait: float) -> float:
        """How long to sleep when the rate gate asks for ``wait``: never past ``max_wait``.

        The gate is asked again afterwards, so a long window is waited out in bounded steps.
        """
        return min(wait, self.call.spec.retry_policy.max_wait)

    def before_attempt(self, *, closing: bool) -> None:
        """A closing client makes no retry: a call already tried ends "outcome unknown".

        Its first attempt still goes: the call was made before the close, which waits for it.
        """
        if closing and self.retries_taken:
            raise closed_mid_call(self.call.spec)

    def step(
        self, outcome: RawResponse | APIConnectionError, *, closing: bool = False
    ) -> Retry | IntercomHttpResponse[T]:
        """``Retry(after)`` to go again, else the final response; raises the final error.

        With ``closing``, a failed attempt (perhaps cut by the close) is not retried: its
        outcome is unknown.
        """
        if closing and isinstance(outcome, APIConnectionError):
            raise closed_mid_call(self.call.spec)
        spec = self.call.spec
        error = outcome if isinstance(outcome, APIConnectionError) else None
        response = outcome if isinstance(outcome, RawResponse) else None
        now = self._clock()
        decision = decide(
            retry_class=spec.retry_class,
            retries_taken=self.retries_taken,
            max_retries=spec.max_retries,
            policy=spec.retry_policy,
            status=response.status if response else None,
            headers=response.headers if response else None,
            error=error,
            now=now,
        )
        self._log(response, error, decision)
        if decision is not None:
            self.retries_taken += 1
            self._mark = self._monotonic() + decision.after
            return decision
        if error is not None:
            raise error
        assert response is not None
        if not 200 <= response.status < 300:
            raise status_error(response.status, response.headers, response.body, now=now)
        if response.problem is not None:
            raise ResponseDecodeError(
                f"the response body {response.problem}",
                status_code=response.status,
                body=response.body[:1024],
            )
        return IntercomHttpResponse(
            status_code=response.status,
            headers=response.headers,
            data=self.call.decode(response.status, response.body),
            retries_taken=self.retries_taken,
        )

    def _log(
        self, response: RawResponse | None, error: APIConnectionError | None, decision: Retry | None
    ) -> None:
        if not log.isEnabledFor(logging.DEBUG):
            return
        elapsed_ms = (self._monotonic() - self._mark) * 1000
        spec = self.call.spec
        result = f"HTTP {response.status}" if response else f"{type(error).__name__}: {error}"
        then = f"retry in {decision.after:.2f} s" if decision else "done"
        log.debug(
            "%s %s attempt %d: %s in %.0f ms; %s",
            spec.method,
            spec.path,
            self.retries_taken + 1,
            result,
            elapsed_ms,
            then,
        )


def headers_of(outcome: RawResponse | APIConnectionError) -> Headers | None:
    """What the rate gate learns from an attempt: its response's headers (None without one)."""
    return outcome.headers if isinstance(outcome, RawResponse) else None


def closed_mid_call(spec: RequestSpec) -> APIConnectionError:
    """The error of a call the closing client cut short: its outcome is unknown."""
    then = (
        "sending it again is safe (Intercom de-duplicates it)"
        if spec.retry_class is RetryClass.IDEMPOTENT
        else "it may or may not have been recorded"
    )
    return APIConnectionError(
        f"{spec.method} {spec.path}: the client was closed before this call finished; its "
        f"outcome is unknown, and {then}",
        request_sent=True,
    )


class LibraryError(Exception):
    """What the HTTP library raised, as a stand-in: its type and message, nothing it held.

    Kept as the SDK error's ``__cause__``; the library's own exception is not, since it can
    hold the request and its headers (the token among them) in its attributes and repr.
    """

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(f"{kind}: {message}" if message else kind)


def _reason(exc: BaseException) -> str:
    """The operating system's words for what failed (``connection refused``), if it said."""
    todo: list[object] = [exc]
    seen: set[int] = set()
    while todo:
        current = todo.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno and current.strerror:
            words = os.strerror(current.errno) if current.errno > 0 else current.strerror
            return str(words).lower()
        todo += current.args
        todo += [getattr(current, name, None) for name in ("reason", "os_error")]
        todo += [current.__cause__, current.__context__]
    return "the connection failed or was closed"


_BEARER = re.compile(r"(?i)bearer\s+\S+")


def connection_error(
    spec: RequestSpec, exc: BaseException, *, timeout: bool, sent: bool
) -> APIConnectionError:
    """The SDK's error for a failed attempt, with a cleaned stand-in of ``exc`` as its cause.

    ``sent=False`` only when the request surely never reached the server.
    """
    kind = APITimeoutError if timeout else APIConnectionError
    reason = "timed out" if timeout else f"failed: {_reason(exc)}"
    name = f"{type(exc).__module__}.{type(exc).__qualname__}".removeprefix("builtins.")
    where = urlsplit(spec.url).netloc
    error = kind(
        f"{spec.method} {spec.path} to {where} {reason} ({type(exc).__name__})",
        request_sent=sent,
    )
    error.__cause__ = LibraryError(name, _BEARER.sub("Bearer ********", str(exc))[:500])
    return error
