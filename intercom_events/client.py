"""The sync client, :class:`DataEventsClient`, and its raw view, on ``requests``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Self, overload

from ._base import ClientBase
from ._core import operations
from ._core.bulk import BulkTally, OnResult, check_concurrency
from ._core.calls import Call
from ._core.config import RequestOptions
from ._interrupts import DeferredInterrupt
from ._progress import progress_bar
from ._tracking.sender import ThreadSender
from ._tracking.tracker import check_timeout
from ._transport.requests_executor import RequestsExecutor
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
from .pager import DataEventPager
from .raw import RawDataEventsClient

if TYPE_CHECKING:
    import requests  # noqa: F401 - named in the quoted base class below

__all__ = ["DataEventsClient"]

_END = object()
_POLL = 0.05
"""Seconds between looks for a deferred Ctrl-C while waiting for requests."""


class DataEventsClient(
    ClientBase["requests.Session", RequestsExecutor, RawDataEventsClient, ThreadSender],
):
    """A client for Intercom's Data Events API, for scripts and threads (on ``requests``).

    ``token`` defaults to ``INTERCOM_ACCESS_TOKEN``, then ``INTERCOM_API_KEY``, read now.
    Safe to share between threads; close it (or use ``with``) to release its connections.
    A ``session`` you pass in is used as it is and never closed.
    """

    _executor_type = RequestsExecutor
    _raw_type = RawDataEventsClient
    _sender_type = ThreadSender

    def _opened(self) -> None:
        self._sender.at_exit = self.close  # a client whose sender runs is closed at exit
        if self._tracker.outbox.poll is not None:  # a file may hold a crashed run's events
            self._sender.ensure()

    def create_data_event(
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
        return self.with_raw_response.create_data_event(
            event_name=event_name,
            user_id=user_id,
            id=id,
            email=email,
            created_at=created_at,
            metadata=metadata,
            request_options=request_options,
        ).data

    @overload
    def list_data_events(
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
    def list_data_events(
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
    def list_data_events(
        self,
        *,
        user_id: str | None = None,
        email: str | None = None,
        intercom_user_id: str | None = None,
        summary: bool = False,
        per_page: int | None = None,
        request_options: RequestOptions | None = None,
    ) -> DataEventList | DataEventSummary: ...

    def list_data_events(
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
        return self.with_raw_response.list_data_events(
            user_id=user_id,
            email=email,
            intercom_user_id=intercom_user_id,
            summary=summary,
            per_page=per_page,
            request_options=request_options,
        ).data

    def iter_data_events(
        self,
        *,
        user_id: str | None = None,
        email: str | None = None,
        intercom_user_id: str | None = None,
        per_page: int | None = None,
        request_options: RequestOptions | None = None,
    ) -> DataEventPager:
        """Every listed event of a user, newest first, following ``pages.next`` page by page.

        Arguments are checked now; each page is asked for as the previous one runs out.
        The :class:`DataEventPager` also counts ``pages_fetched`` and has ``to_pandas()``.
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
        return DataEventPager(
            first, fetch=self._executor.execute, config=self._config, options=request_options
        )

    def create_data_event_summaries(
        self,
        *,
        user_id: str,
        event_summaries: Sequence[EventSummary],
        request_options: RequestOptions | None = None,
    ) -> None:
        """Record counts of events that happened elsewhere, per event name, for a user."""
        self.with_raw_response.create_data_event_summaries(
            user_id=user_id, event_summaries=event_summaries, request_options=request_options
        )

    def send_data_events(
        self,
        events: Iterable[DataEvent],
        *,
        concurrency: int = 16,
        progress: bool = False,
        on_result: OnResult | None = None,
    ) -> BulkResult:
        """Send many events, ``concurrency`` at a time, reading ``events`` lazily.

        Every event read ends up accepted or in ``failed`` with its error (invalid ones too,
        without stopping the rest); ``on_result(event, error_or_None)`` is called once for each
        in this thread. On Ctrl-C (taken between events: press it twice to force), or an error
        from ``on_result`` or the input, the exception propagates after every finished event
        and every in-flight one (as failed, safe to resend) has been reported, carrying the
        totals as ``exc.bulk_result``; unread events stay in your iterator.
        """
        workers = check_concurrency(concurrency)
        bar = progress_bar(events) if progress else None
        tally = BulkTally(self._config, pins=self._pins, on_result=on_result, bar=bar)
        self._executor.grow_pool(workers)
        pending: dict[Future[Exception | None], DataEvent] = {}
        source = iter(events)
        abandon = threading.Event()
        pool = ThreadPoolExecutor(workers, thread_name_prefix="intercom-events")
        with DeferredInterrupt() as ctrl_c:
            try:
                exhausted = False
                while True:
                    while not exhausted and len(pending) < workers and not ctrl_c.arrived:
                        item = next(source, _END)
                        if item is _END:
                            exhausted = True
                        elif prepared := tally.prepare(item):
                            future = pool.submit(self._attempt, prepared[1], abandon)
                            pending[future] = prepared[0]
                    ctrl_c.check()
                    if exhausted and not pending:
                        break
                    done, _ = wait(pending, timeout=_POLL, return_when=FIRST_COMPLETED)
                    for future in done:
                        tally.report(pending.pop(future), future.result())
                pool.shutdown()
                return tally.result()
            except BaseException as reason:
                # Threads cannot be cancelled: those mid-request finish that attempt in the
                # background, but make no other (no retry), and their events are reported now.
                tally.stop(reason)
                finished = [future for future in pending if future.done()]
                abandon.set()
                pool.shutdown(wait=False, cancel_futures=True)
                for future in finished:
                    tally.report(pending.pop(future), future.result())
                tally.interrupted(pending.values())
                tally.result()
                raise

    def _attempt(self, call: Call[DataEvent], abandon: threading.Event) -> Exception | None:
        try:
            self._executor.execute(call, abandon=abandon)
        except Exception as error:
            return error
        return None

    def flush(self, *, timeout: float = 30.0) -> TrackingStats:
        """Wait until the outbox has no pending events (whichever process sends them), or
        ``timeout`` seconds; the :attr:`tracking` counts then. Events paused by a 401/403 or
        waiting to retry a 404 are pending."""
        self._sender.flush(time.monotonic() + check_timeout(timeout))
        return self.tracking

    def close(self) -> None:
        """Stop tracking, deliver what is tracked for up to ``close_timeout`` seconds, then
        release the connections (a session you passed in stays open: it is yours).

        Tracked events still undelivered stay in an SQLite outbox for the next client on
        its path; in a memory outbox they are lost: counted, logged and passed to
        ``on_track_error``. Runs at interpreter exit for a client still open.
        """
        if self._tracker.closed:
            self._executor.close(timeout=0)
            return
        self._tracker.closed = True
        deadline = time.monotonic() + self._config.close_timeout
        self._sender.drain(deadline)
        self._executor.close(timeout=max(0.0, deadline - time.monotonic()))
        self._sender.join(time.monotonic() + 1.0)
        self._tracker.finish()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
