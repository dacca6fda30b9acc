"""A client's books of its tracked events: counts, the pause, and what each outcome does.

Both senders run the same loop: ask :meth:`Books.next` for an event (or how long to wait),
send it once, and hand the outcome to :meth:`Books.finish`, which applies the core's verdict
(``_core.delivery``) to the outbox. The books never wait and hold their lock only for
bookkeeping, so the async sender may call them from the event loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .._core.delivery import Fate, backoff, fate
from .._transport.forks import renew_after_fork
from ..errors import APIConnectionError, ClientClosedError
from ..models import DataEvent, TrackingStats
from .outbox import Item, LeaseLost, Outbox

__all__ = ["Books", "OnTrackError"]

log = logging.getLogger("intercom_events")

OnTrackError = Callable[[DataEvent, Exception], Any]

IDLE = 1.0
"""The longest a sender sleeps before it looks again (the lease, a paused probe, the queue)."""
WARN_AT = 0.8
"""The share of ``max_events`` past which the outbox's filling is logged as a warning."""


class Books:
    """The tracking state of one client; shared by its sender's threads or tasks."""

    def __init__(
        self,
        outbox: Outbox,
        *,
        on_track_error: OnTrackError | None,
        unknown_user_retry: float,
        batch: int,
    ) -> None:
        self.outbox = outbox
        self._on_track_error = on_track_error
        self._unknown_user_retry = unknown_user_retry
        self._batch = batch
        self._fresh()
        renew_after_fork(self)

    def _fresh(self) -> None:
        self._lock = threading.Lock()
        self.tracked = self.delivered = self.dead = self.retried = self.lost = 0
        self._buffer: deque[Item] = deque()  # taken from the outbox, not yet handed out
        self._paused_until: float | None = None  # time.monotonic() of the next probe
        self._pauses = 0
        self._probing = False
        self._resumed_at = 0.0  # time.monotonic() when the last pause ended
        self._filling = False
        self._logged = 0.0

    def _after_fork(self) -> None:
        self._fresh()  # a child's counts start at zero

    @property
    def paused(self) -> bool:
        """Whether sending is paused by a 401/403 (the CLI's import stops then)."""
        return self._paused_until is not None

    def stats(self) -> TrackingStats:
        """This client's counts, and the outbox's pending events."""
        return TrackingStats(
            tracked=self.tracked,
            delivered=self.delivered,
            dead=self.dead,
            pending=self.outbox.pending(),
            retried=self.retried,
            lost=self.lost,
        )

    def stored(self, pending: int) -> None:
        """``track()`` stored an event; the outbox now holds ``pending``."""
        with self._lock:
            self.tracked += 1
            filling = pending > WARN_AT * self.outbox.max_events
            if filling and not self._filling:
                log.warning(
                    "tracking outbox %r is over %d%% full: %d of max_events=%d undelivered",
                    self.outbox,
                    WARN_AT * 100,
                    pending,
                    self.outbox.max_events,
                )
            self._filling = filling

    def next(self, now: float) -> Item | float:
        """An event to send now, or the seconds to wait before asking again."""
        if not self.outbox.holds_lease():
            self.give_back()
            return IDLE
        with self._lock:
            if self._paused_until is not None:
                left = self._paused_until - time.monotonic()
                if self._probing or left > 0:
                    return min(IDLE, max(left, 0.05))
                self._probing = True  # one event goes, to learn whether the pause is over
                limit = 1
            elif self._buffer:
                return self._buffer.popleft()
            else:
                limit = self._batch
        taken = self.outbox.take(now, limit)  # outside the lock: track() must not wait on I/O
        if taken:
            with self._lock:
                self._buffer.extend(taken[1:])
            return taken[0]
        with self._lock:
            self._probing = False
        due = self.outbox.next_due()
        wait = IDLE if due is None else max(due - now, 0.001)
        return min(wait, self.outbox.poll or IDLE)

    def guard(self) -> None:
        """Raises :class:`LeaseLost` unless this process may send now (before each request)."""
        if not self.outbox.holds_lease():
            raise LeaseLost

    def finish(
        self, item: Item, error: Exception | None, *, stopping: bool, started: float
    ) -> None:
        """``item``'s attempt, begun at ``started`` (``time.monotonic``), ended with ``error``
        (None: accepted): apply the verdict.

        The books' lock guards only the counts and the pause; the outbox's own calls (an
        SQLite write) happen outside it, so ``track()`` never waits for them.
        """
        now = time.time()
        cut = isinstance(error, LeaseLost | ClientClosedError) or (
            stopping and isinstance(error, APIConnectionError)
        )
        if cut:
            self.outbox.release([item])
            with self._lock:
                self._probing = False
            return
        verdict = fate(
            error,
            attempts=item.attempts + 1,
            unknown_since=item.unknown_since,
            now=now,
            unknown_user_retry=self._unknown_user_retry,
        )
        # Counts and on_track_error first, the outbox last: once flush() sees nothing
        # pending, the stats it returns and the callbacks it implies are complete.
        with self._lock:
            held = self._resume_or_pause(verdict.fate, started)
            if verdict.fate is Fate.DELIVERED:
                self.delivered += 1
            elif verdict.fate is Fate.DEAD:
                self.dead += 1
            else:
                self.retried += 1
            due = log.isEnabledFor(logging.DEBUG) and time.monotonic() - self._logged >= 1.0
            if due:
                self._logged = time.monotonic()
        if verdict.fate is Fate.DELIVERED:
            self.outbox.done(item)
        elif verdict.fate is Fate.PAUSE:
            self.outbox.release([item])
        elif verdict.fate is Fate.RETRY:
            again = Item(item.id, item.event, item.attempts + 1, verdict.unknown_since)
            self.outbox.later(again, now + verdict.after)
        else:
            assert error is not None
            self.report(item.event, error)
            self.outbox.dead(item, error)
        self.outbox.release(held)
        if due:
            log.debug(
                "tracking: delivered=%d retried=%d dead=%d pending=%d",
                self.delivered,
                self.retried,
                self.dead,
                self.outbox.pending(),
            )

    def _resume_or_pause(self, outcome: Fate, started: float) -> list[Item]:
        """Under the lock: start, extend or end a pause; the events to give back (a new pause
        returns what was taken ahead). A refusal of an attempt begun before the last resume
        is late news of the pause that ended: it starts none."""
        held: list[Item] = []
        if outcome is Fate.PAUSE:
            if self._paused_until is None and started < self._resumed_at:
                return held
            if self._paused_until is None:
                log.error(
                    "tracking paused: Intercom refused the token (401/403); events stay "
                    "pending and sending is retried with backoff up to 60 s"
                )
                held, self._buffer = list(self._buffer), deque()
            elif not self._probing:
                return held  # an attempt already in flight when the pause began
            self._pauses += 1
            self._paused_until = time.monotonic() + backoff(self._pauses)
            self._probing = False
        elif self._paused_until is not None and (self._probing or outcome is Fate.DELIVERED):
            log.info("tracking resumed: Intercom accepts the token again")
            self._paused_until, self._pauses, self._probing = None, 0, False
            self._resumed_at = time.monotonic()
        return held

    def give_back(self) -> None:
        """Events taken but not handed out go back to the outbox (the sender stops, or this
        process no longer holds the lease)."""
        with self._lock:
            held, self._buffer = list(self._buffer), deque()
        if held:
            self.outbox.release(held)

    def report(self, event: DataEvent, error: Exception) -> None:
        """Tell ``on_track_error`` of a dead letter or a lost event; its errors are logged."""
        if self._on_track_error is None:
            return
        try:
            self._on_track_error(event, error)
        except Exception:
            log.exception("on_track_error raised for %r; the event is kept as reported", event)

    def lose(self, events: list[DataEvent], error: Exception) -> None:
        """Memory events undelivered at close: counted, logged and reported, one by one."""
        if not events:
            return
        self.lost += len(events)
        log.error("tracking: %d tracked events were not delivered before close: lost", len(events))
        for event in events:
            self.report(event, error)
