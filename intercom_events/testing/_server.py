"""``FakeIntercom``: the Data Events API on a real 127.0.0.1 socket, served by aiohttp.web.

Every request runs the same pipeline: record it, draw a fault, then (unless the fault answers
instead) check the token, count it against the rate limit, check ``Intercom-Version`` and route.
The server runs on a private loop in a daemon thread (``with``) or on the caller's loop
(``async with``); the state lives in a lock-guarded :class:`~._store.Store` either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from email.utils import formatdate
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from ._faults import DEFAULT_SLOW_DELAY, FaultPlan, RateLimiter, fault_answer
from ._store import ApiError, RecordedRequest, Store, parse_json

_VERSIONS = frozenset(
    [f"1.{n}" for n in range(5)] + [f"2.{n}" for n in range(17)] + ["Preview", "Unstable"]
)
_JSON = "application/json; charset=utf-8"
_STARTUP_TIMEOUT = 10.0


def _error_body(request_id: str, code: str, message: str, field: str | None) -> bytes:
    errors = [{"code": code, "message": message, "field": field}]
    body = {"type": "error.list", "request_id": request_id, "errors": errors}
    return json.dumps(body).encode()


async def _loop_turns(turns: int = 3) -> None:
    """Let callbacks already scheduled run (transports close and attach a turn later)."""
    for _ in range(turns):
        await asyncio.sleep(0)


def _drop(request: web.Request) -> None:
    # Closing the transport makes aiohttp skip writing the response it is handed afterwards.
    if request.transport is not None:
        request.transport.close()


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
    ) -> None:
        if rate_limit is not None and rate_limit < 1:
            raise ValueError("rate_limit must be >= 1 or None")
        self._token = token
        self._port = port
        self._clock = clock
        self._store = Store(seed)
        self._faults = FaultPlan(seed)
        self._limiter = RateLimiter(rate_limit, clock) if rate_limit is not None else None
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None
        self._url: str | None = None
        self._served = ""  # the URL last served on: slow answers may finish after stop()
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
        app.router.add_route("*", "/{tail:.*}", self._handle)
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
        self._url = self._served = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

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

    # -- the HTTP side -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        request_id = uuid.uuid4().hex
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            error = ApiError(413, "request_too_large", "Request Entity Too Large")
            return self._error(error, self._base_headers(request_id), request_id)
        except OSError:  # the client went away mid-request: nobody to answer, nothing to log
            return web.Response(status=400)
        raw = request.raw_path
        if raw.startswith("/"):
            path, _, query_string = raw.partition("?")
        else:  # absolute-form request target, as sent to a proxy
            parts = urllib.parse.urlsplit(raw)
            path, query_string = parts.path or "/", parts.query
        recorded = RecordedRequest(
            method=request.method,
            path=path,
            query_string=query_string,
            query=urllib.parse.parse_qs(query_string, keep_blank_values=True),
            headers=self._plain_headers(request.raw_headers),
            body=body,
        )
        self._store.record(recorded)
        fault = self._faults.draw()
        if fault is not None:
            if fault.kind == "drop_before":
                _drop(request)
                return web.Response()
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
            elif fault.kind != "drop_after":
                return self._fault_response(fault.kind, request_id)
        response = self._answer(request, recorded, request_id)
        if fault is not None and fault.kind == "drop_after":
            _drop(request)
        return response

    @staticmethod
    def _plain_headers(raw: tuple[tuple[bytes, bytes], ...]) -> dict[str, str]:
        headers: dict[str, str] = {}
        for name_bytes, value_bytes in raw:
            name, value = name_bytes.decode("latin-1"), value_bytes.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        return headers

    def _base_headers(self, request_id: str) -> dict[str, str]:
        return {"X-Request-Id": request_id, "Date": formatdate(self._clock(), usegmt=True)}

    def _error(self, error: ApiError, headers: dict[str, str], request_id: str) -> web.Response:
        body = _error_body(request_id, error.code, error.message, error.field)
        headers["Content-Type"] = _JSON
        return web.Response(status=error.status, body=body, headers=headers)

    def _answer(
        self, request: web.Request, recorded: RecordedRequest, request_id: str
    ) -> web.Response:
        headers = self._base_headers(request_id)
        try:
            scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or credential != self._token:
                raise ApiError(401, "unauthorized", "Access Token Invalid")
            if self._limiter is not None:
                allowed, limit_headers = self._limiter.hit()
                headers.update(limit_headers)
                if not allowed:
                    message = f"Exceeded rate limit of {self._limiter.limit} in 10_seconds"
                    raise ApiError(429, "rate_limit_exceeded", message)
            version = request.headers.get("Intercom-Version")
            if version is not None and version not in _VERSIONS:
                message = f"Requested version {version!r} is not valid"
                raise ApiError(400, "intercom_version_invalid", message)
            return self._route(request.method, request.path, recorded, headers)
        except ApiError as error:
            return self._error(error, headers, request_id)

    def _route(
        self, method: str, path: str, recorded: RecordedRequest, headers: dict[str, str]
    ) -> web.Response:
        if (method, path) == ("POST", "/events"):
            self._store.create_event(parse_json(recorded.body))
            return web.Response(status=202, headers=headers)
        if (method, path) == ("GET", "/events"):
            payload = self._store.list_events(recorded.query, self._served)
            headers["Content-Type"] = _JSON
            return web.Response(status=200, body=json.dumps(payload).encode(), headers=headers)
        if (method, path) == ("POST", "/events/summaries"):
            self._store.create_summaries(parse_json(recorded.body))
            return web.Response(status=200, headers=headers)
        raise ApiError(404, "not_found", "Resource Not Found")

    def _fault_response(self, kind: str, request_id: str) -> web.Response:
        limit = self._limiter.limit if self._limiter is not None else None
        answer = fault_answer(kind, limit=limit, now=self._clock(), url=self._served)
        headers = self._base_headers(request_id) | answer.headers
        if answer.error is not None:
            error = ApiError(answer.status, *answer.error)
            return self._error(error, headers, request_id)
        if answer.html is not None:
            headers["Content-Type"] = "text/html; charset=utf-8"
        return web.Response(status=answer.status, text=answer.html, headers=headers)
