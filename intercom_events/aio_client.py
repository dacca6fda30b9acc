"""The async client, :class:`AsyncDataEventsClient`, and its raw view, on ``aiohttp``.

aiohttp is not imported here: the executor imports it when the first request is made, so
``import intercom_events`` stays light for sync users.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterable, Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, overload

from ._base import ClientBase
from ._core import operations
from ._core.bulk import BulkTally, OnResult, check_concurrency
from ._core.calls import Call
from ._core.config import RequestOptions
from ._progress import progress_bar
from ._tracking.aio_sender import TaskSender
from ._tracking.tracker import check_timeout
from ._transport.aiohttp_executor import AiohttpExecutor
from .models import (
    BulkResult,
    DataEvent,
    DataEventList,
    DataEventSummary,
    EventSummary,
    Metadata,
    Timestamp,
    TrackingStats,
)
from .pager import AsyncDataEventPager
from .raw import AsyncRawDataEventsClient

if TYPE_CHECKING:
    import aiohttp  # noqa: F401 - named in the quoted base class below

__all__ = ["AsyncDataEventsClient"]

_END: Any = object()


class AsyncDataEventsClient(
    ClientBase["aiohttp.ClientSession", AiohttpExecutor, AsyncRawDataEventsClient, TaskSender],
):
    """A client for Intercom's Data Events API, for asyncio (on ``aiohttp``).

    The same operations as :class:`~intercom_events.DataEventsClient`, as coroutines.
    ``token`` defaults to ``INTERCOM_ACCESS_TOKEN``, then ``INTERCOM_API_KEY``, read now.
    The client belongs to the event loop it is first used in; its session is made then.
    Close it with ``await client.aclose()`` or ``async with``. A ``session`` you pass in is
    used as it is (its proxy and TLS settings too) and never closed.
    """

    _executor_type = AiohttpExecutor
    _raw_type = AsyncRawDataEventsClient
    _sender_type = TaskSender
    _asynchronous = True

    async def create_data_event(
        self,
        *,
        event_name: str,
        user_id: str | None = None,
        id: str | None = None,
        email: str | None = None,
        created_at: Timestamp | None = None,
        metadata: Metadata | None = None,
        request_options: RequestOptions | None = None,
    ) -> DataEvent:
        """Send one event for the user with exactly one of ``user_id``, ``id``, ``email``.

        Returns the event as sent, with ``created_at`` pinned (now, if not given), so it is
        safe to log and to send again: Intercom de-duplicates on name and ``created_at``.
        """
        raw = await self.with_raw_response.create_data_event(
            event_name=event_name,
            user_id=user_id,
            id=id,
            email=email,
            created_at=created_at,
            metadata=metadata,
            request_options=request_options,
        )
        return raw.data

    @overload
    async def list_data_events(
        self,
        *,
        user_id: str | None = None,
        email: str | None = None,
        intercom_user_id: str | None = None,
        summary: Literal[False] = False,
        per_page: int | None = None,
        request_options: RequestOptions | None = None,
    ) -> DataEventList: ...

    @overload
    async def list_data_events(
        self,
        *,
        user_id: str | None = None,
        email: str | None = None,
        intercom_user_id: str | None = None,
        summary: Literal[True],
        per_page: int | None = None,
        request_options: RequestOptions | None = None,
    ) -> DataEventSummary: ...

    @overload
    async def list_data_events(
        self,
        *,
        user_id: str | None = None,
        email: str | None = None,
        intercom_user_id: str | None = None,
        summary: bool = False,
        per_page: int | None = None,
        request_options: RequestOptions | None = None,
    ) -> DataEventList | DataEventSummary: ...

    async def list_data_events(
        self,
        *,
        user_id: str | None = None,
        email: str | None = None,
        intercom_user_id: str | None = None,
        summary: bool = False,
        per_page: int | None = None,
        request_options: RequestOptions | None = None,
    ) -> DataEventList | DataEventSummary:
        """One page of a user's events (newest first), or with ``summary=True`` their counts.

        Give exactly one of ``user_id``, ``email``, ``intercom_user_id``. Only events from
        the last 90 days are listed; follow ``pages.next`` or use :meth:`iter_data_events`.
        """
        raw = await self.with_raw_response.list_data_events(
            user_id=user_id,
            email=email,
            intercom_user_id=intercom_user_id,
            summary=summary,
            per_page=per_page,
            request_options=request_options,
        )
        return raw.data

    def iter_data_events(
        self,
        *,
        user_id: str | None = None,
        email: str | None = None,
        intercom_user_id: str | None = None,
        per_page: int | None = None,
        request_options: RequestOptions | None = None,
    ) -> AsyncDataEventPager:
        """Every listed event of a user, newest first, following ``pages.next`` page by page.

        Arguments are checked now; each page is asked for as the previous one runs out.
        The :class:`AsyncDataEventPager` also counts ``pages_fetched`` and has ``to_pandas()``.
        """
        first = operations.list_data_events(
            self._config,
            request_options,
            user_id=user_id,
            email=email,
            intercom_user_id=intercom_user_id,
            summary=False,
            per_page=per_page,
        )
        return AsyncDataEventPager(
            first, fetch=self._executor.execute, config=self._config, options=request_options
        )

    async def create_data_event_summaries(
        self,
        *,
        user_id: str,
        event_summaries: Sequence[EventSummary],
        request_options: RequestOptions | None = None,
    ) -> None:
        """Record counts of events that happened elsewhere, per event name, for a user."""
        await self.with_raw_response.create_data_event_summaries(
            user_id=user_id, event_summaries=event_summaries, request_options=request_options
        )

    async def send_data_events(
        self,
        events: Iterable[DataEvent] | AsyncIterable[DataEvent],
        *,
        concurrency: int = 16,
        progress: bool = False,
        on_result: OnResult | None = None,
    ) -> BulkResult:
        """Send many events with up to ``concurrency`` requests in flight, reading lazily.

        Every event read ends up accepted or in ``failed`` with its error (invalid ones too,
        without stopping the rest); ``on_result(event, error_or_None)`` is called once for
        each in the loop. On cancellation, or an error from ``on_result`` or the input, the
        exception propagates after every finished event and every in-flight one (as failed,
        safe to resend) has been reported, carrying the totals as ``exc.bulk_result``;
        unread events stay in your iterator.
        """
        workers = check_concurrency(concurrency)
        bar = progress_bar(events) if progress else None
        tally = BulkTally(self._config, pins=self._pins, on_result=on_result, bar=bar)
        source = _aiter(events)
        reading = asyncio.Lock()
        stopping = False

        async def work() -> None:
            nonlocal stopping
            try:
                while True:
                    async with reading:
                        item = _END if stopping else await anext(source, _END)
                        if item is _END:
                            return
                        prepared = tally.prepare(item)
                    if prepared is None:
                        continue
                    event, call = prepared
                    try:
                        error = await self._attempt(call)
                    except BaseException:
                        tally.interrupted([event])
                        raise
                    tally.report(event, error)
            except BaseException:
                stopping = True  # the other workers read no more
                raise

        tasks = [asyncio.ensure_future(work()) for _ in range(workers)]
        try:
            await asyncio.gather(*tasks)
        except BaseException as reason:
            tally.stop(reason)
            for task in tasks:
                task.cancel()
            for other in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(other, Exception) and other is not reason:
                    reason.add_note(f"a worker also raised {type(other).__name__}: {other}")
            tally.result()
            raise
        finally:
            await source.aclose()
        return tally.result()

    async def _attempt(self, call: Call[DataEvent]) -> Exception | None:
        try:
            await self._executor.execute(call)
        except Exception as error:
            return error
        return None

    async def flush(self, *, timeout: float = 30.0) -> TrackingStats:
        """Wait until the outbox has no pending events (whichever process sends them), or
        ``timeout`` seconds; the :attr:`tracking` counts then. Events paused by a 401/403 or
        waiting to retry a 404 are pending."""
        await self._sender.flush(time.monotonic() + check_timeout(timeout))
        return self.tracking

    async def aclose(self) -> None:
        """Stop tracking, deliver what is tracked for up to ``close_timeout`` seconds, then
        close the connections (a session you passed in stays open: it is yours).

        Tracked events still undelivered stay in an SQLite outbox for the next client on
        its path; in a memory outbox they are lost: counted, logged and passed to
        ``on_track_error``.
        """
        if self._tracker.closed:
            await self._executor.aclose(timeout=0)
            return
        self._tracker.closed = True
        deadline = time.monotonic() + self._config.close_timeout
        await self._sender.drain(deadline)
        await self._executor.aclose(timeout=max(0.0, deadline - time.monotonic()))
        if self._tracker.outbox.poll is None:
            self._tracker.finish()
        else:  # an SQLite file: its keeper's end and last checkpoint wait on the disk
            await asyncio.to_thread(self._tracker.finish)

    close = aclose

    async def __aenter__(self) -> Self:
        if self._tracker.outbox.poll is not None:  # a file may hold a crashed run's events
            self._sender.check()
            self._sender.ensure()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def _aiter(
    events: Iterable[DataEvent] | AsyncIterable[DataEvent],
) -> AsyncGenerator[DataEvent, None]:
    """Iterate a sync or async iterable, one item at a time."""
    if isinstance(events, AsyncIterable):
        async for event in events:
            yield event
    else:
        for event in events:
            yield event
