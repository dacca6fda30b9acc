"""What every outbox offers its sender, and :class:`MemoryOutbox`, the default.

An outbox holds each tracked event until it is delivered or dead. ``max_events`` counts
everything in between (queued, in flight, waiting to retry). The sender takes due events,
and gives each back with its fate: delivered, later, dead, or released unchanged.
"""

from __future__ import annotations

import heapq
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Protocol

import attrs

from .._core.checks import bounded_int
from .._core.timestamps import Pins
from .._transport.forks import renew_after_fork
from ..errors import OutboxFullError
from ..models import DataEvent, FailedEvent

__all__ = ["Build", "Item", "LeaseLost", "MemoryOutbox", "Outbox", "full"]

Build = Callable[[Pins], tuple[DataEvent, bytes]]
"""Validates and pins an event with the pins given; returns it and its wire body."""


class LeaseLost(Exception):
    """This process no longer holds the outbox's lease: it must not send."""


@attrs.frozen
class Item:
    """A tracked event as the sender sees it."""

    id: int
    event: DataEvent
    attempts: int = 0
    """Attempts made so far."""
    unknown_since: float | None = None
    """When its first 404 came (Unix seconds), if one did."""


def full(max_events: int) -> OutboxFullError:
    return OutboxFullError(
        f"the outbox holds max_events={max_events} undelivered events; nothing was stored "
        "(flush(), or give the outbox more room)"
    )


class Outbox(Protocol):
    """The part of an outbox the client and its sender use."""

    max_events: int
    shared_pins: Pins | None
    """Pins kept with the events (an SQLite file's), or None to use the client's own."""
    poll: float | None
    """Seconds between looks for events other processes stored, or None (only this one)."""

    def add(self, build: Build, pins: Pins) -> tuple[DataEvent, int]:
        """Store one event built by ``build``: it and the count now pending."""
        ...  # pragma: no cover

    def take(self, now: float, limit: int) -> list[Item]:
        """Up to ``limit`` events due by ``now``, in order; they are in flight until given back."""
        ...  # pragma: no cover

    def next_due(self) -> float | None:
        """When the next event not in flight is due (Unix seconds), or None if there is none."""
        ...  # pragma: no cover

    def done(self, item: Item) -> None:
        """Delivered."""
        ...  # pragma: no cover

    def later(self, item: Item, at: float) -> None:
        """Due again at ``at``, with the item's new attempt count and 404 start."""
        ...  # pragma: no cover

    def dead(self, item: Item, error: Exception) -> None:
        """Given up on, kept with its error."""
        ...  # pragma: no cover

    def release(self, items: Iterable[Item]) -> None:
        """Back to the queue unchanged (the send was cut short)."""
        ...  # pragma: no cover

    def pending(self) -> int:
        """Events not yet delivered or dead."""
        ...  # pragma: no cover

    def failed(self) -> list[FailedEvent]:
        """The dead letters, oldest first."""
        ...  # pragma: no cover

    def requeue_failed(self) -> int:
        """Queue every dead letter again; how many."""
        ...  # pragma: no cover

    def holds_lease(self) -> bool:
        """Whether this process may send now (a cheap, in-memory answer)."""
        ...  # pragma: no cover

    def start_sending(self) -> None:
        """A sender starts in this process: seek (and keep) the right to send."""
        ...  # pragma: no cover

    def stop_sending(self) -> list[DataEvent]:
        """The sender stopped: give up the right; events lost with the process (memory)."""
        ...  # pragma: no cover


class MemoryOutbox:
    """Tracked events kept in this process: fast, and lost if the process dies.

    Full at ``max_events`` undelivered events: ``track()`` then raises
    :class:`~intercom_events.OutboxFullError`. A forked child starts with an empty one.
    """

    shared_pins: Pins | None = None
    poll: float | None = None

    def __init__(self, *, max_events: int = 10_000) -> None:
        self.max_events = bounded_int("max_events", max_events, minimum=1)
        self._fresh()
        renew_after_fork(self)

    def _fresh(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[int, Item] = {}  # everything not delivered or dead
        self._ready: deque[int] = deque()
        self._later: list[tuple[float, int]] = []  # a heap of (due, id)
        self._dead: list[FailedEvent] = []
        self._ids = 0

    def _after_fork(self) -> None:
        self._fresh()  # the parent's events are the parent's to send

    def __repr__(self) -> str:
        return f"MemoryOutbox(max_events={self.max_events}, pending={self.pending()})"

    def add(self, build: Build, pins: Pins) -> tuple[DataEvent, int]:
        with self._lock:
            if len(self._items) >= self.max_events:
                raise full(self.max_events)
            event, _ = build(pins)
            self._ids += 1
            self._ready.append(self._ids)  # first: a Ctrl-C between the two stores nothing
            self._items[self._ids] = Item(self._ids, event)
            return event, len(self._items)

    def take(self, now: float, limit: int) -> list[Item]:
        with self._lock:
            while self._later and self._later[0][0] <= now:
                self._ready.append(heapq.heappop(self._later)[1])
            taken: list[Item] = []
            while self._ready and len(taken) < limit:
                item = self._items.get(self._ready.popleft())
                if item is not None:
                    taken.append(item)
            return taken

    def next_due(self) -> float | None:
        with self._lock:
            if any(i in self._items for i in self._ready):
                return 0.0
            return self._later[0][0] if self._later else None

    def done(self, item: Item) -> None:
        with self._lock:
            self._items.pop(item.id, None)

    def later(self, item: Item, at: float) -> None:
        with self._lock:
            if item.id in self._items:
                self._items[item.id] = item
                heapq.heappush(self._later, (at, item.id))

    def dead(self, item: Item, error: Exception) -> None:
        with self._lock:
            if self._items.pop(item.id, None) is not None:
                self._dead.append(FailedEvent(item.event, error))

    def release(self, items: Iterable[Item]) -> None:
        with self._lock:
            self._ready.extendleft(reversed([i.id for i in items if i.id in self._items]))

    def pending(self) -> int:
        return len(self._items)

    def failed(self) -> list[FailedEvent]:
        with self._lock:
            return list(self._dead)

    def requeue_failed(self) -> int:
        with self._lock:
            dead, self._dead = self._dead, []
            for failure in dead:
                self._ids += 1
                self._items[self._ids] = Item(self._ids, failure.event)
                self._ready.append(self._ids)
            return len(dead)

    def holds_lease(self) -> bool:
        return True

    def start_sending(self) -> None:
        pass

    def stop_sending(self) -> list[DataEvent]:
        with self._lock:
            lost = [item.event for item in self._items.values()]
            self._fresh_queue()
            return lost

    def _fresh_queue(self) -> None:
        self._items.clear()
        self._ready.clear()
        self._later.clear()
