"""The sync client's tracking sender: ``concurrency`` daemon threads draining the outbox.

Daemon threads, not a ``ThreadPoolExecutor``: the interpreter joins a pool's threads before
``atexit`` runs, so a request hung on an unreachable Intercom would hold the exit; daemon
threads let the exit flush run under its own deadline. Everything a request imports is
imported before the threads start (a fork during an import leaves the child a half-loaded
module). In a forked child the threads are gone; the next ``ensure()`` starts new ones.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from .._core import operations
from .._core.config import ClientConfig, RequestOptions
from .._transport.forks import renew_after_fork
from .books import Books
from .outbox import Item

if TYPE_CHECKING:
    from .._transport.requests_executor import RequestsExecutor

__all__ = ["ONCE", "ThreadSender", "preload"]

_LOOK = 0.02
"""Seconds between looks at the outbox while flushing."""
ONCE = RequestOptions(max_retries=0)
"""A tracked event goes once per attempt: retries are the outbox's, with their own backoff."""


_sending: set[ThreadSender] = set()
"""Senders whose threads run: their clients are closed (tracked events flushed) at exit."""


@atexit.register
def _close_at_exit() -> None:
    for sender in list(_sending):
        sender.at_exit()


class _Preloading(Protocol):
    def preload(self) -> None: ...


def preload(executor: _Preloading, config: ClientConfig) -> None:
    """Import what sending imports on first use, before a sender starts (see above)."""
    executor.preload()
    config.json_headers  # noqa: B018 - made now: its User-Agent reads package metadata


class ThreadSender:
    """Sends a client's tracked events from threads, through the client's executor."""

    def __init__(
        self, books: Books, executor: RequestsExecutor, config: ClientConfig, *, concurrency: int
    ) -> None:
        self._books = books
        self._executor = executor
        self._config = config
        self._concurrency = concurrency
        self.at_exit: Callable[[], None] = lambda: None
        """Closes the client (it sets this): run at interpreter exit while threads run."""
        self._fresh()
        renew_after_fork(self)

    def _fresh(self) -> None:
        _sending.discard(self)
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._wake = threading.Condition(threading.Lock())
        self._pid = 0

    _after_fork = _fresh

    @property
    def running(self) -> bool:
        return self._pid == os.getpid() and not self._stop.is_set()

    def ensure(self) -> None:
        """Start the threads, unless they run."""
        with self._wake:
            if self._pid == os.getpid() or self._stop.is_set():
                return
            self._pid = os.getpid()
            preload(self._executor, self._config)
            self._executor.grow_pool(self._concurrency)
            self._books.outbox.start_sending()
            _sending.add(self)
            for number in range(self._concurrency):
                thread = threading.Thread(
                    target=self._run, name=f"intercom-events-sender-{number}", daemon=True
                )
                self._threads.append(thread)
                thread.start()

    def wake(self) -> None:
        """An event was stored: one idle thread looks now."""
        with self._wake:
            self._wake.notify()

    def _run(self) -> None:
        while not self._stop.is_set():
            got = self._books.next(time.time())
            if not isinstance(got, Item):
                with self._wake:
                    if not self._stop.is_set():
                        self._wake.wait(got)
                continue
            self._send(got)

    def _send(self, item: Item) -> None:
        error: Exception | None = None
        started = time.monotonic()
        try:
            _, call = operations.create_data_event(self._config, item.event, ONCE)
            self._executor.execute(call, abandon=self._stop, guard=self._books.guard)
        except Exception as exc:
            error = exc
        self._books.finish(item, error, stopping=self._stop.is_set(), started=started)

    def check(self) -> None:
        """Any thread may track."""

    def flush(self, deadline: float) -> None:
        """Wait until the outbox has nothing pending, or ``deadline`` (``time.monotonic``)."""
        outbox = self._books.outbox
        if outbox.pending() and not self._stop.is_set():
            self.ensure()
        while outbox.pending() and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(_LOOK, left))

    def drain(self, deadline: float) -> None:
        """At close: flush until ``deadline`` if this process sends; then stop taking events."""
        if self.running and self._books.outbox.holds_lease():
            self.flush(deadline)
        with self._wake:
            self._stop.set()
            self._wake.notify_all()

    def join(self, deadline: float) -> None:
        """Wait for the threads (their requests cut by the executor's close) until ``deadline``."""
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._books.give_back()
        _sending.discard(self)
