"""``RedisRateGate``: one rate-limit window for every client sharing a Redis key.

The window's state is one Redis hash, changed by one Lua script (``_script``), so every
process of every host takes its slots from the same allowance. What is sent and what a reply
means is ``_core.fleet``'s; this module runs the script and falls back to an in-process gate
while Redis is slow or down. ``redis`` is imported when a gate is made, not before.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from .._core.checks import kind, number
from .._core.fleet import IDLE, PROBE_TTL, RETRY_EVERY, SLOW, Breaker, answer, report
from .._core.headers import Headers
from .._core.ratelimit import RateLimit
from .._transport.forks import renew_after_fork
from .._transport.gate import LocalRateGate
from ..errors import InvalidEventError
from ..models import GateStats
from ._script import SCRIPT

if TYPE_CHECKING:
    import redis
    import redis.asyncio

__all__ = ["RedisRateGate"]

log = logging.getLogger("intercom_events")


def _import_redis() -> Any:
    try:
        import redis
        import redis.asyncio
    except ImportError as exc:
        raise ImportError(
            "RedisRateGate needs the redis package: pip install 'intercom-events[redis]'"
        ) from exc
    return redis


class RedisRateGate:
    """One rate-limit window, kept in Redis, for every client (process, host) sharing ``key``.

    Pass it as ``rate_gate=`` to any number of clients; use one ``key`` per Intercom app. The
    window is sized from the server's ``X-RateLimit-*`` headers and named by its reset time
    on the server's clock (learnt from responses' ``Date``), so hosts' clocks need not agree.
    When a Redis command fails or takes over ``slow`` seconds, the gate uses the client's
    own window instead, logs one WARNING, and tries Redis again every ``retry_every`` seconds.

    ``url_or_client`` is a ``redis://`` URL (the gate makes its own clients, with ``slow``
    as their socket timeout) or a ``redis.Redis`` for sync clients / ``redis.asyncio.Redis``
    for async ones (used as given: give it a ``socket_timeout``).
    """

    def __init__(
        self,
        url_or_client: str | redis.Redis | redis.asyncio.Redis,
        *,
        key: str,
        slow: float = SLOW,
        retry_every: float = RETRY_EVERY,
    ) -> None:
        redis = _import_redis()
        kind("key", key, str)
        if not key:
            raise InvalidEventError("key", "must name the window, e.g. 'intercom-events:my-app'")
        self._breaker = Breaker(
            slow=number("slow", slow, positive=True),
            retry_every=number("retry_every", retry_every),
        )
        self._url: str | None = None
        self._sync: Any = None
        self._async: Any = None
        if isinstance(url_or_client, str):
            self._url = url_or_client
            redis.connection.parse_url(url_or_client)  # a bad URL fails here, not at a send
        elif isinstance(url_or_client, redis.asyncio.Redis):
            self._async = url_or_client.register_script(SCRIPT)
        elif isinstance(url_or_client, redis.Redis):
            self._sync = url_or_client.register_script(SCRIPT)
        else:
            raise TypeError(
                "url_or_client must be a redis:// URL, a redis.Redis or a redis.asyncio.Redis,"
                f" got {type(url_or_client).__name__}"
            )
        self.key = key
        self._loop: asyncio.AbstractEventLoop | None = None
        self._local = LocalRateGate()
        self._lock = threading.Lock()
        renew_after_fork(self)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        if self._url is not None:
            self._sync = self._async = self._loop = None  # the parent's sockets stay its own

    def __repr__(self) -> str:
        state = "fallback" if self._breaker.down else "redis"
        return f"RedisRateGate(key={self.key!r}, using={state!r})"

    def stats(self) -> GateStats:
        """Slots Redis granted, waits it asked for, and times the gate fell back."""
        with self._lock:
            breaker = self._breaker
            return GateStats(
                granted=breaker.granted, waited=breaker.waited, fallbacks=breaker.fallbacks
            )

    @property
    def latest(self) -> RateLimit | None:
        """The window the latest response seen by this process reported."""
        return self._local.latest

    def _check_client(self, *, asynchronous: bool) -> None:
        """Refuse a Redis client of the other kind before the first send."""
        given = self._async if asynchronous else self._sync
        other = self._sync if asynchronous else self._async
        if self._url is None and given is None and other is not None:
            wanted = "redis.asyncio.Redis" if asynchronous else "redis.Redis"
            raise TypeError(f"this client needs a RedisRateGate made from a URL or a {wanted}")

    # The sync path (threads) and the async path (the loop) run the same steps around the call.

    def reserve(self, now: float) -> float:
        """0 and a slot taken, or the seconds to wait before asking again."""
        args = self._reserve_args()
        if args is None:
            return self._local.reserve(now)
        started = time.monotonic()
        try:
            wait = answer(self._sync_script()(keys=[self.key], args=args))
        except Exception as exc:  # whatever Redis does, the send goes on without it
            self._ended(started, exc)
            return self._local.reserve(now)
        return self._granted(started, wait)

    def record(self, headers: Headers | None, now: float) -> None:
        """An attempt ended: with its response's headers, or None (no response)."""
        args = self._record_args(headers, now)
        if args is None:
            return
        started = time.monotonic()
        try:
            self._sync_script()(keys=[self.key], args=args)
        except Exception as exc:  # whatever Redis does, the send goes on without it
            self._ended(started, exc)
        else:
            self._ended(started, None)

    async def reserve_async(self, now: float) -> float:
        """:meth:`reserve`, for the async executor (Redis is awaited, within ``slow``)."""
        args = self._reserve_args()
        if args is None:
            return self._local.reserve(now)
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._breaker.slow):
                wait = answer(await self._async_script()(keys=[self.key], args=args))
        except Exception as exc:  # whatever Redis does, the send goes on without it
            self._ended(started, exc)
            return self._local.reserve(now)
        return self._granted(started, wait)

    async def record_async(self, headers: Headers | None, now: float) -> None:
        """:meth:`record`, for the async executor."""
        args = self._record_args(headers, now)
        if args is None:
            return
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._breaker.slow):
                await self._async_script()(keys=[self.key], args=args)
        except Exception as exc:  # whatever Redis does, the send goes on without it
            self._ended(started, exc)
        else:
            self._ended(started, None)

    def close(self) -> None:
        """Close the connections a gate made from a URL (a given client stays the caller's)."""
        if self._url is not None and self._sync is not None:
            self._sync.registered_client.close()
            self._sync = None

    async def aclose(self) -> None:
        """:meth:`close`, and the async connections of a gate made from a URL."""
        self.close()
        if self._url is not None and self._async is not None:
            await self._async.registered_client.aclose()
            self._async = self._loop = None

    def _reserve_args(self) -> list[str | int] | None:
        with self._lock:
            if not self._breaker.use_store(time.monotonic()):
                return None
        return ["reserve", int(IDLE * 1000), f"{PROBE_TTL:g}"]

    def _record_args(self, headers: Headers | None, now: float) -> list[str | int] | None:
        self._local.record(headers, now)
        seen = report(headers)
        if seen is None:  # no response: nothing to tell the fleet
            return None
        with self._lock:
            if not self._breaker.use_store(time.monotonic()):
                return None
        return ["record", int(IDLE * 1000), *seen.args()]

    def _granted(self, started: float, wait: float) -> float:
        self._ended(started, None)
        with self._lock:
            return self._breaker.counted(wait)

    def _ended(self, started: float, error: Exception | None) -> None:
        ended = time.monotonic()
        elapsed = ended - started
        with self._lock:
            change = self._breaker.after(None if error else elapsed, ended)
        if change == "down":
            if error is None:
                why = f"took {elapsed * 1000:.0f} ms"
            else:
                why = f"{type(error).__name__}: {error or 'no answer in time'}"
            log.warning(
                "rate gate %r: Redis failed (%s); using this process's own window and trying"
                " Redis again every %g s",
                self.key,
                why,
                self._breaker.retry_every,
            )
        elif change == "back":
            log.info("rate gate %r: Redis answers again; the fleet's window is back", self.key)

    def _options(self, retry: Any) -> dict[str, Any]:
        """A gate's own clients: each command bounded by ``slow``, no retries or backoff
        (the next request's try is the retry)."""
        from redis.backoff import NoBackoff

        slow = self._breaker.slow
        return {
            "socket_timeout": slow,
            "socket_connect_timeout": slow,
            "retry": retry(NoBackoff(), 0),
        }

    def _sync_script(self) -> Any:
        with self._lock:  # one client for all the threads
            if self._sync is None:
                from redis.retry import Retry

                client = _import_redis().Redis.from_url(self._url, **self._options(Retry))
                self._sync = client.register_script(SCRIPT)
            return self._sync

    def _async_script(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._url is not None and (self._async is None or self._loop is not loop):
            from redis.asyncio.retry import Retry

            client = _import_redis().asyncio.Redis.from_url(self._url, **self._options(Retry))
            self._async, self._loop = client.register_script(SCRIPT), loop
        if self._async is None:
            raise TypeError("this gate was made from a redis.Redis: async clients need a URL")
        return self._async
