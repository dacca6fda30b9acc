"""Pagers: what ``iter_data_events`` returns, one listing followed page by page.

A pager hands out a user's events one at a time and asks for the next page (``pages.next``)
only when the events it holds run out, so a long history is never loaded whole unless asked
(``to_pandas()``). It is stateful: every event is handed out once, whichever loop (or
thread, or task) takes it. A failed page request leaves it where it was, so iterating again
asks for that page again. The rules for following ``pages.next`` (the client's own origin
only, no page twice) are the core's (``_core.operations``).

``import intercom_events`` loads this module: it imports neither asyncio nor pandas.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Self, TypeAlias

from ._core import operations
from ._core.calls import Call
from ._core.config import ClientConfig, RequestOptions
from ._core.response import IntercomHttpResponse
from ._progress import progress_bar
from .models import DataEvent, DataEventList, DataEventSummary

if TYPE_CHECKING:
    import asyncio

    import pandas

__all__ = ["AsyncDataEventPager", "DataEventPager"]

_Listed: TypeAlias = DataEventList | DataEventSummary
_PageCall: TypeAlias = Call[_Listed]
_Fetch: TypeAlias = Callable[[_PageCall], IntercomHttpResponse[_Listed]]
_AsyncFetch: TypeAlias = Callable[[_PageCall], Awaitable[IntercomHttpResponse[_Listed]]]


class _Pager:
    """The state both pagers share: the events in hand, the page trail, the counts."""

    def __init__(
        self, first: _PageCall, *, config: ClientConfig, options: RequestOptions | None
    ) -> None:
        self._config = config
        self._options = options
        self._trail = operations.PageTrail(first)
        self._call: _PageCall | None = first
        self._stale = False
        """True when ``_call`` is still to be worked out from ``last_page``'s ``pages.next``."""
        self._events: deque[DataEvent] = deque()
        self._last_page: DataEventList | None = None
        self._pages_fetched = 0
        self._received = 0
        self._bar: Any = None
        """A progress bar counting pages, while ``to_pandas(progress=True)`` runs."""

    @property
    def pages_fetched(self) -> int:
        """How many pages have been received so far (0 before the first request)."""
        return self._pages_fetched

    @property
    def last_page(self) -> DataEventList | None:
        """The latest page received (None before the first): its ``pages`` is the API's."""
        return self._last_page

    @property
    def done(self) -> bool:
        """True once every event has been handed out and no ``pages.next`` is left to follow.

        Known without a request: after a page with a ``pages.next`` it stays False until that
        page has been asked for, even if it turns out to be empty.
        """
        page = self._last_page
        return page is not None and not self._events and not (page.pages and page.pages.next)

    def _next_call(self) -> _PageCall | None:
        """The request for the page to read next, or None after the last page."""
        if self._stale:
            assert self._last_page is not None
            # Raises for a link to another origin or to a page already fetched; the pager
            # stays stale, so asking again raises again rather than skipping the check.
            self._call = self._trail.after(self._config, self._last_page, self._options)
            self._stale = False
        return self._call

    def _receive(self, response: IntercomHttpResponse[_Listed]) -> None:
        page = response.data
        assert isinstance(page, DataEventList)  # the call lists events, never a summary
        self._last_page = page
        self._pages_fetched += 1
        self._events.extend(page.events)
        self._received += len(page.events)
        self._stale = True
        if self._bar is not None:
            self._bar.set_postfix(events=self._received, refresh=False)
            self._bar.update(1)

    def _start_bar(self) -> None:
        # The bulk send's bar (tqdm.auto; one final line in a notebook run unattended),
        # counting pages; how many follow is not known in advance.
        self._bar = progress_bar((), unit="page", desc="listing")

    def _stop_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    @staticmethod
    def _frame(events: list[DataEvent]) -> pandas.DataFrame:
        from ._notebook import events_frame  # pandas loads with the first frame

        return events_frame(events)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(pages_fetched={self._pages_fetched}, done={self.done})"


class DataEventPager(_Pager):
    """A user's listed events, newest first, read one page at a time (sync client).

    What :meth:`DataEventsClient.iter_data_events` returns: an iterator (``for event in
    pager``, ``next(pager)``), asking for each page as the previous one runs out. Threads may
    share one; each event goes to one of them. A page request that fails raises from
    ``next()`` and leaves the pager where it was: iterate again to ask for that page again.
    """

    def __init__(
        self,
        first: _PageCall,
        *,
        fetch: _Fetch,
        config: ClientConfig,
        options: RequestOptions | None,
    ) -> None:
        super().__init__(first, config=config, options=options)
        self._fetch = fetch
        self._lock = threading.Lock()

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> DataEvent:
        with self._lock:  # one page request at a time; each event handed out once
            while not self._events:
                call = self._next_call()
                if call is None:
                    raise StopIteration
                self._receive(self._fetch(call))
            return self._events.popleft()

    def to_pandas(self, *, progress: bool = False) -> pandas.DataFrame:
        """Every event not yet handed out, from every page left, as a ``pandas.DataFrame``.

        Events already taken from the pager are not in it. ``progress=True`` shows a bar
        counting the pages (needs tqdm). Needs pandas: ``pip install 'intercom-events[notebook]'``.
        """
        if progress:
            self._start_bar()
        try:
            events = list(self)
        finally:
            self._stop_bar()
        return self._frame(events)


class AsyncDataEventPager(_Pager):
    """A user's listed events, newest first, read one page at a time (async client).

    What :meth:`AsyncDataEventsClient.iter_data_events` returns: an async iterator (``async
    for event in pager``, ``await anext(pager)``), asking for each page as the previous one
    runs out. Tasks may share one; each event goes to one of them. A page request that fails
    (or is cancelled) raises and leaves the pager where it was: iterate again to ask again.
    """

    def __init__(
        self,
        first: _PageCall,
        *,
        fetch: _AsyncFetch,
        config: ClientConfig,
        options: RequestOptions | None,
    ) -> None:
        import asyncio  # loaded already: only the async client makes these

        super().__init__(first, config=config, options=options)
        self._fetch = fetch
        self._lock: asyncio.Lock = asyncio.Lock()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> DataEvent:
        while not self._events:
            async with self._lock:  # one page request at a time; the others wait for it
                if self._events:
                    break
                call = self._next_call()
                if call is None:
                    raise StopAsyncIteration
                self._receive(await self._fetch(call))
        return self._events.popleft()

    async def to_pandas(self, *, progress: bool = False) -> pandas.DataFrame:
        """Every event not yet handed out, from every page left, as a ``pandas.DataFrame``.

        Events already taken from the pager are not in it. ``progress=True`` shows a bar
        counting the pages (needs tqdm). Needs pandas: ``pip install 'intercom-events[notebook]'``.
        """
        if progress:
            self._start_bar()
        try:
            events = [event async for event in self]
        finally:
            self._stop_bar()
        return self._frame(events)
