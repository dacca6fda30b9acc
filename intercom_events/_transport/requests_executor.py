"""The sync executor: sends a :class:`RequestSpec` with ``requests`` and sleeps between tries.

It decides nothing: every rule is in the core (``_core.calls``). Its job is bytes on the wire
and back, and mapping ``requests`` exceptions to the SDK's own.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .._core.body import READ_SIZE, BodyReader
from .._core.calls import (
    Attempts,
    Call,
    RawResponse,
    connection_error,
    headers_of,
)
from .._core.config import ClientConfig, Secret
from .._core.headers import Headers
from .._core.ratelimit import RateGate
from .._core.response import IntercomHttpResponse
from .._core.retry import Retry
from .._core.spec import RequestSpec
from ..errors import APIConnectionError, ClientClosedError
from .forks import renew_after_fork
from .watchdog import Watchdog, in_use

if TYPE_CHECKING:
    import requests
    import requests.adapters

__all__ = ["RequestsExecutor"]

T = TypeVar("T")
POOL_SIZE = 32
_LOOK = 0.1
"""Seconds between looks at the closing flag while a bulk worker waits to retry."""


class Abandoned(Exception):
    """The bulk send this call belonged to was stopped before the call finished."""


class _BearerAuth:
    """Sets the token last, so neither ``~/.netrc`` nor a stray header can replace it.

    requests calls any callable given as ``auth=``; this one needs no import of requests.
    """

    def __init__(self, token: Secret) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(token='********')"


def _mount(session: requests.Session, pool_size: int) -> None:
    old = session.adapters.get("https://")
    adapter = _watched_adapter()(pool_connections=4, pool_maxsize=pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    if old is not None:
        old.close()


@functools.cache
def _watched_adapter() -> type[requests.adapters.HTTPAdapter]:
    """An HTTPAdapter whose connections tell the watchdog which thread uses them."""
    import requests.adapters
    import urllib3

    class Connection(urllib3.connection.HTTPConnection):
        def request(self, *args: Any, **kwargs: Any) -> None:
            in_use(self)
            super().request(*args, **kwargs)

    class SecureConnection(urllib3.connection.HTTPSConnection):
        def request(self, *args: Any, **kwargs: Any) -> None:
            in_use(self)
            super().request(*args, **kwargs)

    class Pool(urllib3.HTTPConnectionPool):
        ConnectionCls = Connection

    class SecurePool(urllib3.HTTPSConnectionPool):
        ConnectionCls = SecureConnection

    class Adapter(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": SecurePool}

    return Adapter


def _refused(exc: requests.RequestException) -> bool:
    """True if no connection was made (refused, DNS), so the request surely was not sent."""
    import urllib3.exceptions

    wrapped = exc.args[0] if exc.args else None
    reason = wrapped.reason if isinstance(wrapped, urllib3.exceptions.MaxRetryError) else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


class RequestsExecutor:
    """Runs calls on one ``requests.Session``: ours (closed by :meth:`close`) or the caller's."""

    def __init__(
        self, config: ClientConfig, gate: RateGate, session: requests.Session | None = None
    ) -> None:
        self.gate = gate
        self._owns_session = session is None
        self._session = session  # ours is made by the first request: requests loads then
        self._pool_size = POOL_SIZE
        self._auth = _BearerAuth(config.token)
        self._close_timeout = config.close_timeout
        self._closed = False
        self._inherited: list[requests.Session] = []
        self._fresh()
        self._watchdog = Watchdog()
        renew_after_fork(self)

    def _fresh(self) -> None:
        self._closing = threading.Event()  # wakes retry waits when the client closes
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._running = 0  # calls under way

    def _after_fork(self) -> None:
        """In a forked child: new locks, and a new session of our own when it is used.

        The parent's session is kept, never used and never closed: its pooled sockets are
        the parent's connections. A session the caller passed in stays the caller's.
        """
        self._fresh()
        if self._owns_session and self._session is not None:
            self._inherited.append(self._session)
            self._session = None

    @staticmethod
    def library() -> str:
        """``requests/<version>``, for the User-Agent (requests loads with the first request)."""
        import requests

        return f"requests/{requests.__version__}"

    def execute(
        self,
        call: Call[T],
        *,
        abandon: threading.Event | None = None,
        guard: Callable[[], None] | None = None,
    ) -> IntercomHttpResponse[T]:
        """Send ``call`` until the core says it is done; its response, or its error.

        ``abandon`` is the sync stand-in for cancelling a task: once it is set, no further
        attempt starts and waits end early (an attempt already on the wire runs to its end).
        ``guard`` runs right before each attempt goes on the wire, after any wait; what it
        raises ends the call (the tracking sender checks its lease there).
        """
        with self._lock:
            if self._closed:
                raise ClientClosedError("this client is closed; make a new one")
            self._running += 1
        try:
            return self._attempts(call, abandon or self._closing, guard)
        finally:
            with self._lock:
                self._running -= 1
                self._idle.notify_all()

    def _attempts(
        self, call: Call[T], stop: threading.Event, guard: Callable[[], None] | None
    ) -> IntercomHttpResponse[T]:
        attempts = Attempts(call)
        while True:
            attempts.before_attempt(closing=self._closed)
            if stop is not self._closing and stop.is_set():
                raise Abandoned
            if wait := self.gate.reserve(time.time()):
                self._wait(stop, attempts.gate_wait(wait))
                continue
            try:
                if guard is not None:
                    guard()
                outcome = self._send(call.spec)
            except BaseException:
                self.gate.record(None, time.time())  # Ctrl-C: free the slot
                raise
            self.gate.record(headers_of(outcome), time.time())
            step = attempts.step(outcome, closing=self._closed)
            if isinstance(step, Retry):
                self._wait(stop, step.after)
                continue
            return step

    def _wait(self, stop: threading.Event, seconds: float) -> None:
        """Sleep ``seconds``, ending early when ``stop`` is set or the client closes."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0 and not self._closing.is_set():
            if stop.wait(min(left, _LOOK)):
                return

    def _ready_session(self) -> requests.Session:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    import requests

                    session = requests.Session()
                    _mount(session, self._pool_size)
                    self._session = session
        return self._session

    def _send(self, spec: RequestSpec) -> RawResponse | APIConnectionError:
        session = self._ready_session()
        import requests
        import urllib3.exceptions

        with self._watchdog.deadline(spec.timeout) as deadline:
            try:
                response = session.request(
                    spec.method,
                    spec.url,
                    headers=spec.headers,
                    data=spec.body,
                    auth=self._auth,
                    timeout=spec.timeout,
                    allow_redirects=False,
                    stream=True,  # the body is read below, decoded by the core, capped
                )
            except requests.ConnectTimeout as exc:
                return connection_error(spec, exc, timeout=True, sent=False)
            except requests.Timeout as exc:
                return connection_error(spec, exc, timeout=True, sent=True)
            except requests.RequestException as exc:
                sent = deadline.passed or not _refused(exc)
                return connection_error(spec, exc, timeout=deadline.passed, sent=sent)
            reader = BodyReader(response.headers.get("content-encoding"))
            try:
                for chunk in response.raw.stream(READ_SIZE, decode_content=False):
                    if not reader.feed(chunk):
                        break
            except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
                timeout = deadline.passed or isinstance(exc, urllib3.exceptions.TimeoutError)
                return connection_error(spec, exc, timeout=timeout, sent=True)
            finally:
                response.close()
        if deadline.passed:  # cut by the watchdog: whatever was read is not the response
            error = TimeoutError(f"no whole response within {spec.timeout} s")
            return connection_error(spec, error, timeout=True, sent=True)
        body = reader.body()
        return RawResponse(response.status_code, Headers(response.headers), body, reader.problem)

    def grow_pool(self, size: int) -> None:
        """Make our session's connection pool hold at least ``size`` connections."""
        with self._lock:
            if self._owns_session and size > self._pool_size:
                self._pool_size = size
                if self._session is not None:
                    _mount(self._session, size)

    @staticmethod
    def preload() -> None:
        """Import now what a request imports on first use: a thread that imports while the
        process forks leaves the child a half-loaded module (see ``_tracking``)."""
        import requests.adapters
        import urllib3.exceptions  # noqa: F401

        requests.Session().close()

    def close(self, timeout: float | None = None) -> None:
        """Refuse new calls, let those under way finish for up to ``close_timeout`` seconds
        (or ``timeout``), cut the rest (their callers get an "outcome unknown"
        ``APIConnectionError``), then close the session if it is ours."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._closing.set()
            deadline = time.monotonic() + (self._close_timeout if timeout is None else timeout)
            while self._running and (left := deadline - time.monotonic()) > 0:
                self._idle.wait(left)
            if self._running:
                self._watchdog.cut_all()
                self._idle.wait(1.0)  # the cut calls end at once; do not hang on one that cannot
        if self._owns_session and self._session is not None:
            self._session.close()
