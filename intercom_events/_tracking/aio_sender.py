"""The async client's tracking sender: ``concurrency`` tasks in the client's event loop.

The loop is never blocked on the network; the outbox's own calls (an SQLite read or a short
write) take microseconds, and its checkpoints run on the keeper thread. In a forked child
the tasks are gone (so is the parent's loop); the next ``ensure()`` starts new ones.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from .._core import operations
from .._core.config import ClientConfig
from .._transport.forks import renew_after_fork
from ..errors import ClientClosedError
from .books import Books
from .outbox import Item
from .sender import ONCE, preload

if TYPE_CHECKING:
    from .._transport.aiohttp_executor import AiohttpExecutor

__all__ = ["TaskSender"]

log = logging.getLogger("intercom_events")
_LOOK = 0.02
"""Seconds between looks at the outbox while flushing."""


class TaskSender:
    """Sends a client's tracked events from tasks, through the client's executor."""

    def __init__(
        self, books: Books, executor: AiohttpExecutor, config: ClientConfig, *, concurrency: int
    ) -> None:
        self._books = books
        self._executor = executor
        self._config = config
        self._concurrency = concurrency
        self._fresh()
        renew_after_fork(self)

    def _fresh(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wake: asyncio.Event | None = None
        self._stopping = False

    _after_fork = _fresh

    def ensure(self) -> None:
        """Start the tasks in the running loop, unless they run."""
        if self._tasks or self._stopping:
            return
        preload(self._executor, self._config)
        self._books.outbox.start_sending()
        self._wake = asyncio.Event()
        for number in range(self._concurrency):
            task = asyncio.ensure_future(self._run())
            task.set_name(f"intercom-events-sender-{number}")
            self._tasks.add(task)

    def wake(self) -> None:
        """An event was stored: the idle tasks look now."""
        if self._wake is not None:
            self._wake.set()

    async def _run(self) -> None:
        try:
            await self._loop()
        except asyncio.CancelledError:
            if not self._stopping:  # the loop is ending (asyncio.run) without aclose()
                self._orphaned()
            raise

    def _orphaned(self) -> None:
        self._stopping = True
        self._tasks = set()  # they end with their loop
        log.error(
            "the event loop ended while an AsyncDataEventsClient was tracking; close it "
            "(async with, or await aclose()) to deliver its events before the loop ends"
        )
        self._books.lose(
            self._books.outbox.stop_sending(),
            ClientClosedError("the event loop ended before this tracked event was delivered"),
        )

    async def _loop(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            got = self._books.next(time.time())
            if isinstance(got, Item):
                await self._send(got)
                continue
            self._wake.clear()
            try:
                async with asyncio.timeout(got):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _send(self, item: Item) -> None:
        error: Exception | None = None
        started = time.monotonic()
        try:
            _, call = operations.create_data_event(self._config, item.event, ONCE)
            await self._executor.execute(call, guard=self._books.guard)
        except asyncio.CancelledError:
            self._books.outbox.release([item])
            raise
        except Exception as exc:
            error = exc
        self._books.finish(item, error, stopping=self._stopping, started=started)

    def check(self) -> None:
        """``track()`` is called in the client's event loop (it binds the client to it)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "AsyncDataEventsClient.track() must be called from inside the client's event "
                "loop (in a coroutine or callback); use DataEventsClient from plain threads"
            ) from None
        self._executor.bind()

    async def flush(self, deadline: float) -> None:
        """Wait until the outbox has nothing pending, or ``deadline`` (``time.monotonic``)."""
        outbox = self._books.outbox
        if outbox.pending() and not self._stopping:
            self.check()
            self.ensure()
        while outbox.pending() and (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(_LOOK, left))

    async def drain(self, deadline: float) -> None:
        """At close: flush until ``deadline`` if this process sends; then end the tasks,
        abandoning their requests (their events stay in the outbox)."""
        if self._tasks and self._books.outbox.holds_lease():
            await self.flush(deadline)
        self._stopping = True
        self.wake()
        tasks, self._tasks = self._tasks, set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._books.give_back()
