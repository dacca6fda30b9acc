"""What the sync and async clients share: construction, configuration, repr.

A client is its settings (``_core.config``), a rate gate, the seconds it pinned
(``_core.timestamps``), an executor from ``_transport`` and a raw view (``raw``). Each
client class names its executor and raw view as class attributes; every public method goes
``client → raw view → core builder → executor``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from ._core.config import ClientConfig, resolve_config
from ._core.ratelimit import RateGate, RateLimit
from ._core.retry import RetryPolicy
from ._core.timestamps import Key, Pins, PinTable
from ._tracking.books import Books, OnTrackError
from ._tracking.outbox import MemoryOutbox
from ._tracking.sqlite import SQLiteOutbox
from ._tracking.tracker import CONCURRENCY, Sender, Tracker
from ._transport.forks import renew_after_fork
from ._transport.gate import LocalRateGate
from .models import DataEvent, Metadata, Timestamp, TrackingStats

if TYPE_CHECKING:
    from ._fleet.redis_gate import RedisRateGate

__all__ = ["ClientBase", "LockedPins"]


class LockedPins:
    """A client's :class:`PinTable`, shared by its threads (or tasks) under a lock."""

    def __init__(self) -> None:
        self._table = PinTable()
        self._lock = threading.Lock()
        renew_after_fork(self)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # the parent's may have been held by another thread

    def pin(
        self, key: Key, requested: int | None, fingerprint: str, now: float
    ) -> tuple[int, str | None]:
        """The second to send for this event (see ``_core.timestamps``)."""
        with self._lock:
            return self._table.pin(key, requested, fingerprint, now)


SessionT = TypeVar("SessionT")


class _Executor(Protocol):
    def __init__(self, config: ClientConfig, gate: RateGate, session: Any) -> None: ...

    @staticmethod
    def library() -> str:
        """``name/version`` of the HTTP library, for the User-Agent."""
        ...  # pragma: no cover


class _RawView(Protocol):
    def __init__(self, config: ClientConfig, executor: Any, pins: Pins) -> None: ...


class _SenderType(Sender, Protocol):
    def __init__(
        self, books: Books, executor: Any, config: ClientConfig, *, concurrency: int
    ) -> None: ...


ExecutorT = TypeVar("ExecutorT", bound=_Executor)
RawT = TypeVar("RawT", bound=_RawView)
SenderT = TypeVar("SenderT", bound=_SenderType)


class ClientBase(Generic[SessionT, ExecutorT, RawT, SenderT]):
    """Resolves the settings once (the token read from the environment now, not at import)."""

    _executor_type: type[ExecutorT]
    """The executor this client sends its calls with."""
    _raw_type: type[RawT]
    """The class of ``with_raw_response``."""
    _sender_type: type[SenderT]
    """The tracking sender (threads or tasks) that drains the outbox."""
    _asynchronous = False
    """Whether this client's calls run in an event loop."""

    def __init__(
        self,
        token: str | None = None,
        *,
        region: str = "us",
        base_url: str | None = None,
        intercom_version: str = "2.14",
        timeout: float | None = 20.0,
        max_retries: int = 2,
        retry_policy: RetryPolicy | None = None,
        metadata_max_keys: int | None = 10,
        session: SessionT | None = None,
        headers: Mapping[str, str] | None = None,
        allow_insecure_http: bool = False,
        rate_gate: RedisRateGate | None = None,
        outbox: MemoryOutbox | SQLiteOutbox | str | os.PathLike[str] | None = None,
        close_timeout: float = 5.0,
        on_track_error: OnTrackError | None = None,
        unknown_user_retry: float = 600.0,
    ) -> None:
        self._config = resolve_config(
            token=token,
            region=region,
            base_url=base_url,
            intercom_version=intercom_version,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            metadata_max_keys=metadata_max_keys,
            headers=headers,
            allow_insecure_http=allow_insecure_http,
            close_timeout=close_timeout,
            library=self._executor_type.library,
        )
        self._tracker = Tracker(
            self._config,
            outbox,
            on_track_error=on_track_error,
            unknown_user_retry=unknown_user_retry,
        )
        self._gate = self._rate_gate(rate_gate)
        self._pins = self._tracker.pins(LockedPins())
        self._executor = self._executor_type(self._config, self._gate, session)
        self.with_raw_response = self._raw_type(self._config, self._executor, self._pins)
        self._sender = self._sender_type(
            self._tracker.books, self._executor, self._config, concurrency=CONCURRENCY
        )
        self._opened()

    def _rate_gate(self, gate: RedisRateGate | None) -> RateGate:
        """The gate every request of this client waits at: a fleet's, or its own."""
        if gate is None:
            return LocalRateGate()
        from ._fleet.redis_gate import RedisRateGate  # asyncio with it: only when asked for

        if not isinstance(gate, RedisRateGate):
            raise TypeError(f"rate_gate must be a RedisRateGate or None, got {type(gate).__name__}")
        gate._check_client(asynchronous=self._asynchronous)
        return gate

    def _opened(self) -> None:
        """The client is made (the sync client starts sending an SQLite file's events now)."""

    def track(
        self,
        *,
        event_name: str,
        user_id: str | None = None,
        id: str | None = None,
        email: str | None = None,
        created_at: Timestamp | None = None,
        metadata: Metadata | None = None,
    ) -> DataEvent:
        """Store an event for the background sender and return it: no network I/O here.

        Checked exactly as :meth:`create_data_event` checks it (bad input raises
        :class:`InvalidEventError` and nothing is stored), with ``created_at`` pinned (now if
        not given). The event is then in the client's outbox (``outbox=``): an SQLite outbox
        has committed it. Raises :class:`OutboxFullError` when the outbox is full, and
        :class:`ClientClosedError` after close. See :meth:`flush` and :attr:`tracking`.
        """
        event = DataEvent(
            event_name=event_name,
            user_id=user_id,
            id=id,
            email=email,
            created_at=created_at,
            metadata=metadata,
        )
        return self._tracker.track(event, self._pins, self._sender)

    @property
    def tracking(self) -> TrackingStats:
        """This client's tracking counts (readable after close), and the outbox's pending."""
        return self._tracker.stats()

    @property
    def outbox(self) -> MemoryOutbox | SQLiteOutbox:
        """Where tracked events wait: ``outbox.pending()``, ``failed()``, ``requeue_failed()``."""
        return self._tracker.outbox  # type: ignore[return-value]

    @property
    def base_url(self) -> str:
        """Where requests go, e.g. ``https://api.intercom.io``."""
        return self._config.base_url

    @property
    def rate_limit(self) -> RateLimit | None:
        """The rate-limit window the latest response reported (None before any did)."""
        return self._gate.latest

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, "
            f"intercom_version={self._config.intercom_version!r})"
        )
