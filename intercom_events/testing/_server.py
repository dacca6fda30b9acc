"""``FakeIntercom``: the Data Events API on a real 127.0.0.1 socket, served by aiohttp.web.

The server runs on a private loop in a daemon thread (``with``) or on the caller's loop
(``async with``); the state lives in a lock-guarded :class:`~._store.Store` either way, and
requests are answered by :class:`~._http.Handler`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from ._faults import DEFAULT_SLOW_DELAY, WINDOW_SECONDS, FaultPlan, RateLimiter, WindowCount
from ._http import Handler
from ._store import Store
from ._wire import RecordedRequest

_STARTUP_TIMEOUT = 10.0


async def _loop_turns(turns: int = 3) -> None:
    """Let callbacks already scheduled run (transports close and attach a turn later)."""
    for _ in range(turns):
        await asyncio.sleep(0)


class FakeIntercom:
    """A local fake of Intercom's Data Events API for tests, demos and benchmarks."""

    def __init__(
        self,
        *,
        token: str = "test-token",  # noqa: S107 - a fake's well-known default, not a secret
        rate_limit: int | None = None,
        seed: int = 0,
        port: int = 0,
        clock: Callable[[], float] = time.time,
        window: int = WINDOW_SECONDS,
    ) -> None:
        if rate_limit is not None and rate_limit < 1:
            raise ValueError("rate_limit must be >= 1 or None")
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ValueError("window must be a whole number of seconds >= 1")
        self._token = token
        self._port = port
        self._store = Store(seed)
        self._faults = FaultPlan(seed)
        limiter = RateLimiter(rate_limit, clock, window) if rate_limit is not None else None
        self._limiter = limiter
        self._http = Handler(
            token=token, store=self._store, faults=self._faults, limiter=limiter, clock=clock
        )
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None
        self._url: str | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"<FakeIntercom url={self._url!r}>"

    # -- the test-facing surface ---------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        if self._url is None:
            raise RuntimeError("FakeIntercom is not running; use `with`, `async with` or start()")
        return self._url

    @property
    def token(self) -> str:
        """The bearer token the fake accepts."""
        return self._token

    def add_user(self, *, user_id: str | None = None, email: str | None = None) -> str:
        """Register a contact and return its Intercom id (24 hex chars, fixed by the seed)."""
        return self._store.add_user(user_id=user_id, email=email)

    @property
    def events(self) -> list[dict[str, Any]]:
        """Stored events in arrival order, as received (metadata cut to its first 10 keys)."""
        return self._store.events()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request seen, rejected and faulted ones included, in arrival order."""
        return self._store.requests()

    @property
    def rate_windows(self) -> list[WindowCount]:
        """Each rate-limit window that saw a request: start, allowed, refused (429)."""
        return self._limiter.windows() if self._limiter is not None else []

    def inject(
        self,
        kind: str,
        *,
        first: int | None = None,
        rate: float | None = None,
        delay: float = DEFAULT_SLOW_DELAY,
    ) -> None:
        """Add a fault rule: the next ``first`` requests, then each with probability ``rate``."""
        self._faults.add(kind, first=first, rate=rate, delay=delay)

    def clear_faults(self) -> None:
        """Remove every fault rule; requests are answered normally again."""
        self._faults.clear()

    # -- lifecycle -----------------------------------------------------------------------------

    async def astart(self) -> None:
        """Start serving on the running event loop."""
        if self._runner is not None:
            raise RuntimeError("FakeIntercom is already running")
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._http.handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        handlers = runner.server
        assert handlers is not None  # made by setup()
        try:
            # Our own asyncio server rather than web.TCPSite: stopping needs to reach it.
            server = await asyncio.get_running_loop().create_server(
                handlers, "127.0.0.1", self._port
            )
        except BaseException:
            await runner.cleanup()
            raise
        self._runner, self._server = runner, server
        self._url = self._http.served = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    async def astop(self) -> None:
        """Stop serving and close every connection; a no-op when not running."""
        runner, server = self._runner, self._server
        self._runner = self._server = self._url = None
        if runner is None or server is None:
            return
        # Stop accepting, but let accepts under way finish before closing: asyncio (3.13.0)
        # leaks the transport of a connection accepted while its server closes.
        loop = asyncio.get_running_loop()
        for sock in server.sockets:
            with contextlib.suppress(NotImplementedError):  # loops without add_reader
                loop.remove_reader(sock.fileno())
        await _loop_turns()
        server.close()
        await runner.cleanup()  # ends requests in progress, closes the connections it knows
        if sys.version_info >= (3, 13):
            server.close_clients()
        await _loop_turns()  # a closed transport lets go of its socket a turn later
        if sys.version_info >= (3, 12, 1):  # before that, wait_closed does not wait for clients
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 2.0)

    def start(self) -> None:
        """Start serving on a private event loop in a daemon thread."""
        if self._thread is not None or self._runner is not None:
            raise RuntimeError("FakeIntercom is already running")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(
            target=self._run_loop, args=(loop,), name="FakeIntercom", daemon=True
        )
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            asyncio.run_coroutine_threadsafe(self.astart(), loop).result(_STARTUP_TIMEOUT)
        except BaseException:
            self._stop_thread()
            raise

    def stop(self) -> None:
        """Stop the background server and join its thread; a no-op when not running."""
        if self._loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.astop(), self._loop).result(_STARTUP_TIMEOUT)
        finally:
            self._stop_thread()

    def _stop_thread(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()

    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.run_until_complete(asyncio.sleep(0))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        await self.astart()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.astop()
