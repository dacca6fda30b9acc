"""What ``track()`` does, the same on both clients: check, pin, store, and wake the sender.

No network I/O: the event is validated exactly as ``create_data_event`` validates it, pinned,
and stored in the outbox (an SQLite outbox commits it, with its pin, before returning).
"""

from __future__ import annotations

import os
import time
from typing import Protocol

from .._core.checks import number
from .._core.config import ClientConfig
from .._core.timestamps import Pins
from .._core.validation import json_body, prepare_event
from ..errors import ClientClosedError, InvalidEventError
from ..models import DataEvent, TrackingStats
from .books import Books, OnTrackError
from .outbox import MemoryOutbox, Outbox
from .sqlite import SQLiteOutbox

__all__ = ["CONCURRENCY", "Sender", "Tracker", "check_timeout", "make_outbox"]

CONCURRENCY = 8
"""Requests a tracking sender keeps in flight."""


class Sender(Protocol):
    """What ``track()`` asks of a client's sender."""

    def check(self) -> None:
        """Raise if ``track()`` may not be called from here (the async client's loop rule)."""

    def ensure(self) -> None:
        """Start sending, unless it has started."""

    def wake(self) -> None:
        """An event was stored."""


def make_outbox(outbox: object) -> Outbox:
    """The client's ``outbox=``: None (memory), a path (SQLite), or an outbox object."""
    if outbox is None:
        return MemoryOutbox()
    if isinstance(outbox, str | os.PathLike):
        return SQLiteOutbox(outbox)
    if isinstance(outbox, MemoryOutbox | SQLiteOutbox):
        return outbox
    raise InvalidEventError(
        "outbox", f"must be None, a path, MemoryOutbox or SQLiteOutbox, got {type(outbox).__name__}"
    )


class Tracker:
    """A client's tracking: its outbox and books; ``track()`` and the closed flag."""

    def __init__(
        self,
        config: ClientConfig,
        outbox: object,
        *,
        on_track_error: OnTrackError | None,
        unknown_user_retry: float,
    ) -> None:
        if on_track_error is not None and not callable(on_track_error):
            raise InvalidEventError("on_track_error", "must be callable(event, error) or None")
        unknown = number("unknown_user_retry", unknown_user_retry)
        self.config = config
        self.outbox = make_outbox(outbox)
        self.books = Books(
            self.outbox,
            on_track_error=on_track_error,
            unknown_user_retry=unknown,
            batch=CONCURRENCY,
        )
        self.closed = False

    def pins(self, own: Pins) -> Pins:
        """The pins the client's direct sends share with its tracked events."""
        return self.outbox.shared_pins or own

    def track(self, event: DataEvent, pins: Pins, sender: Sender) -> DataEvent:
        """Store ``event`` (pinned) and return it as it will be sent."""
        sender.check()
        if self.closed:
            raise ClientClosedError("this client is closed: track() takes no more events")
        now = time.time()
        max_keys = self.config.metadata_max_keys

        def build(pins: Pins) -> tuple[DataEvent, bytes]:
            pinned, body = prepare_event(event, now=now, max_keys=max_keys, pins=pins)
            return pinned, json_body(body)

        pinned, pending = self.outbox.add(build, pins)
        self.books.stored(pending)
        sender.ensure()
        sender.wake()
        return pinned

    def stats(self) -> TrackingStats:
        return self.books.stats()

    def finish(self) -> None:
        """The sender has stopped: give up the outbox; memory events left are lost."""
        self.books.lose(
            self.outbox.stop_sending(),
            ClientClosedError("the client closed before this tracked event was delivered"),
        )


def check_timeout(timeout: object) -> float:
    """``flush(timeout=)``: seconds, at least 0."""
    return number("timeout", timeout)
