"""The async executor: sends a :class:`RequestSpec` with ``aiohttp`` and awaits between tries.

Like the sync executor it decides nothing (see ``_core.calls``): it owns the
session's lifecycle and event-loop binding, puts bytes on the wire, and maps aiohttp's
exceptions to the SDK's own. aiohttp is imported when the first request is made.
"""

from __future__ import annotations

import asyncio
import functools
import time
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from .._core.body import READ_SIZE, BodyReader
from .._core.calls import (
    Attempts,
    Call,
    RawResponse,
    closed_mid_call,
    connection_error,
    headers_of,
)
from .._core.config import ClientConfig
from .._core.headers import Headers
from .._core.ratelimit import RateGate
from .._core.response import IntercomHttpResponse
from .._core.retry import Retry
from .._core.spec import RequestSpec
from ..errors import APIConnectionError, ClientClosedError
from .forks import renew_after_fork

if TYPE_CHECKING:
    import aiohttp

__all__ = ["AiohttpExecutor"]

T = TypeVar("T")
POOL_SIZE = 64
_LOOK = 0.01
"""Seconds between looks, while closing, for calls still under way."""


def proxy_for(base_url: str) -> str | None:
    """The proxy the environment names for ``base_url`` (as requests would pick it)."""
    parts = urlsplit(base_url)
    proxies = urllib.request.getproxies()
    if not proxies or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxies.get(parts.scheme) or proxies.get("all")


@functools.lru_cache(maxsize=8)
def _timeout(total: float | None) -> aiohttp.ClientTimeout:
    import aiohttp

    return aiohttp.ClientTimeout(total=total)


class AiohttpExecutor:
    """Runs calls on one ``aiohttp.ClientSession``: ours (made lazily) or the caller's."""

    def __init__(
        self, config: ClientConfig, gate: RateGate, session: aiohttp.ClientSession | None = None
    ) -> None:
        self.gate = gate
        self._token = config.token
        self._base_url = config.base_url
        self._session = session
        self._owns_session = session is None
        self._proxy: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._close_timeout = config.close_timeout
        self._running: set[asyncio.Task[Any]] = set()  # tasks with a call under way
        self._cut: set[asyncio.Task[Any]] = set()  # those aclose() cancelled
        self._inherited: list[aiohttp.ClientSession] = []
        self._headers_for: Headers | None = None
        self._headers: dict[str, str] = {}
        renew_after_fork(self)

    def _after_fork(self) -> None:
        """In a forked child: forget the parent's loop and session; make our own on use.

        The parent's session is kept, never used and never closed (its sockets are the
        parent's). A session the caller passed in stays the caller's, bound to its loop.
        """
        self._loop = None
        self._running, self._cut = set(), set()
        if self._owns_session and self._session is not None:
            self._inherited.append(self._session)
            self._session = None

    @staticmethod
    def library() -> str:
        """``aiohttp/<version>``, for the User-Agent (not aiohttp itself: it loads on use)."""
        from importlib.metadata import version

        return f"aiohttp/{version('aiohttp')}"

    def bind(self) -> None:
        """Bind the client to the running loop, or raise if it belongs to another."""
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise RuntimeError(
                "this AsyncDataEventsClient belongs to the event loop it was first used in; "
                "make one client per event loop"
            )

    def _ready_session(self) -> aiohttp.ClientSession:
        self.bind()
        if self._session is None:
            import aiohttp

            # trust_env=False: with True, aiohttp reads ~/.netrc and the proxy settings in a
            # thread on every request; the proxy is read from the environment once instead.
            self._proxy = proxy_for(self._base_url)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=POOL_SIZE),
                trust_env=False,
            )
        return self._session

    async def execute(
        self, call: Call[T], *, guard: Callable[[], None] | None = None
    ) -> IntercomHttpResponse[T]:
        """Send ``call`` until the core says it is done; its response, or its error.

        ``guard`` runs right before each attempt goes on the wire, after any wait; what it
        raises ends the call (the tracking sender checks its lease there).
        """
        if self._closed:
            raise ClientClosedError("this client is closed; make a new one")
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            return await self._attempts(call, guard)
        except asyncio.CancelledError:
            if task in self._cut and task.uncancel() == 0:  # our cut, and no one else's
                raise closed_mid_call(call.spec) from None
            raise
        finally:
            self._running.discard(task)
            self._cut.discard(task)

    async def _attempts(
        self, call: Call[T], guard: Callable[[], None] | None
    ) -> IntercomHttpResponse[T]:
        attempts = Attempts(call)
        while True:
            attempts.before_attempt(closing=self._closed)
            if wait := await self.gate.reserve_async(time.time()):
                await asyncio.sleep(attempts.gate_wait(wait))
                continue
            try:
                if guard is not None:
                    guard()
                outcome = await self._send(call.spec)
            except BaseException:
                self.gate.record(None, time.time())  # cancelled: free the slot, without waiting
                raise
            await self.gate.record_async(headers_of(outcome), time.time())
            step = attempts.step(outcome, closing=self._closed)
            if isinstance(step, Retry):
                await asyncio.sleep(step.after)
                continue
            return step

    async def _send(self, spec: RequestSpec) -> RawResponse | APIConnectionError:
        session = self._ready_session()
        import aiohttp
        import yarl

        options: dict[str, Any] = {"proxy": self._proxy} if self._owns_session else {}
        try:
            async with session.request(
                spec.method,
                yarl.URL(spec.url, encoded=True),
                headers=self._with_token(spec.headers),
                data=spec.body,
                timeout=_timeout(spec.timeout),
                allow_redirects=False,
                auto_decompress=False,  # the core decodes, and caps the size
                **options,
            ) as response:
                reader = BodyReader(response.headers.get("content-encoding"))
                length = response.content_length
                if length is not None and length <= READ_SIZE:  # most answers: in one read
                    reader.feed(await response.content.read())
                else:
                    async for chunk in response.content.iter_chunked(READ_SIZE):
                        if not reader.feed(chunk):
                            break
                headers = Headers(response.headers.items())
                return RawResponse(response.status, headers, reader.body(), reader.problem)
        except aiohttp.ConnectionTimeoutError as exc:
            return connection_error(spec, exc, timeout=True, sent=False)
        except TimeoutError as exc:
            return connection_error(spec, exc, timeout=True, sent=True)
        except aiohttp.ClientConnectorError as exc:
            return connection_error(spec, exc, timeout=False, sent=False)
        except (aiohttp.ClientError, OSError) as exc:
            return connection_error(spec, exc, timeout=False, sent=True)

    def _with_token(self, headers: Headers) -> dict[str, str]:
        """The spec's headers plus Authorization; specs of one client share their headers."""
        if headers is not self._headers_for:
            self._headers_for = headers
            self._headers = {**headers, "Authorization": f"Bearer {self._token.reveal()}"}
        return self._headers

    @staticmethod
    def preload() -> None:
        """Import now what a request imports on first use (see ``RequestsExecutor.preload``)."""
        import aiohttp  # noqa: F401
        import yarl  # noqa: F401

    async def aclose(self, timeout: float | None = None) -> None:
        """Refuse new calls, let those under way finish for up to ``close_timeout`` seconds
        (or ``timeout``), cut the rest (their callers get an "outcome unknown"
        ``APIConnectionError``), then close the session if it is ours."""
        self._closed = True
        me = asyncio.current_task()
        if not await self._quiet(me, self._close_timeout if timeout is None else timeout):
            for task in self._running - {me}:
                self._cut.add(task)
                task.cancel()
            await self._quiet(me, 1.0)  # the cut calls end at once
        await self._close_session()

    async def _quiet(self, me: asyncio.Task[Any] | None, seconds: float) -> bool:
        """Wait up to ``seconds`` for every other call to end; True if they did."""
        deadline = time.monotonic() + seconds
        while self._running - {me} and time.monotonic() < deadline:
            await asyncio.sleep(_LOOK)
        return not self._running - {me}

    async def _close_session(self) -> None:
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()
