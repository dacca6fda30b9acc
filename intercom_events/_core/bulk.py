"""Bulk sending, the part both clients share: preparing events and accounting for each.

Every event read from the input ends in exactly one place: ``accepted`` or ``failed``
(``accepted + len(failed) == total``), and ``on_result`` hears of each as it finishes. When
the send stops early (Ctrl-C, cancellation, an error from ``on_result`` or the input), the
events in flight are reported as interrupted, further ``on_result`` errors become notes on
the exception that stops it, and that exception carries the totals as ``bulk_result``. The
clients only keep up to ``concurrency`` requests in flight (threads or tasks) and own the
progress bar, which the tally only updates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from ..errors import APIConnectionError, ClientClosedError, InvalidEventError
from ..models import BulkResult, DataEvent, FailedEvent
from . import operations
from .calls import Call
from .checks import bounded_int
from .config import ClientConfig
from .timestamps import Pins

__all__ = ["BulkTally", "OnResult", "ProgressBar", "check_concurrency"]

OnResult = Callable[[DataEvent, Exception | None], Any]


class ProgressBar(Protocol):
    """The part of a ``tqdm`` bar the tally uses."""

    def set_postfix(self, *, refresh: bool, **counts: int) -> None:
        """Show the counts beside the bar."""

    def update(self, n: int) -> object:
        """Move the bar ``n`` steps."""

    def close(self) -> None:
        """Finish the bar."""


INTERRUPTED = (
    "interrupted before its outcome was known; safe to resend as it is "
    "(its created_at is pinned, so Intercom de-duplicates it)"
)


def check_concurrency(concurrency: object) -> int:
    """A positive int, or :class:`InvalidEventError`."""
    return bounded_int("concurrency", concurrency, minimum=1)


class BulkTally:
    """Counts a bulk send and reports each finished event, with an optional progress bar."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        pins: Pins,
        on_result: OnResult | None,
        bar: ProgressBar | None = None,
    ) -> None:
        self._config = config
        self._pins = pins
        self._on_result = on_result
        self.total = 0
        self.accepted = 0
        self.failed: list[FailedEvent] = []
        self._bar = bar
        self._stopping: BaseException | None = None
        self._late: list[str] = []  # on_result errors while stopping, for the reason's notes
        self._interrupting = False

    def prepare(self, event: object) -> tuple[DataEvent, Call[DataEvent]] | None:
        """The event with ``created_at`` pinned and its call; None if refused (and reported)."""
        self.total += 1
        if not isinstance(event, DataEvent):
            error = InvalidEventError(
                "events", f"items must be DataEvent, got {type(event).__name__}"
            )
            self.report(event, error)  # type: ignore[arg-type]
            return None
        try:
            return operations.create_data_event(self._config, event, pins=self._pins)
        except Exception as error:  # InvalidEventError, or anything else: it fails alone
            self.report(event, error)
            return None

    def report(self, event: DataEvent, error: Exception | None) -> None:
        """One event finished: accepted (``error`` None) or failed."""
        if error is None:
            self.accepted += 1
        else:
            self.failed.append(FailedEvent(event, error))
        if self._bar is not None:
            self._bar.set_postfix(accepted=self.accepted, failed=len(self.failed), refresh=False)
            self._bar.update(1)
        if self._on_result is not None:
            try:
                self._on_result(event, error)
            except Exception as failure:
                if self._stopping is None and not self._interrupting:
                    raise
                self._late.append(
                    f"on_result also raised {type(failure).__name__}: {failure} "
                    f"(for {event.event_name!r}, reported all the same)"
                )
        if isinstance(error, ClientClosedError) and self._stopping is None:
            # The client was closed under the send: every later event would fail the same way.
            raise ClientClosedError("the client was closed during this bulk send") from error

    def stop(self, reason: BaseException) -> None:
        """The send stops because of ``reason``: it will carry the totals and late errors."""
        if self._stopping is None:
            self._stopping = reason

    def interrupted(self, in_flight: Iterable[DataEvent]) -> None:
        """Report the events whose requests were cut short: outcome unknown, safe to resend."""
        self._interrupting = True  # the send is stopping: on_result errors are noted, not raised
        for event in in_flight:
            self.report(event, APIConnectionError(INTERRUPTED, request_sent=True))

    def result(self) -> BulkResult:
        """The totals; closes the progress bar. After :meth:`stop`, also ``reason.bulk_result``."""
        if self._bar is not None:
            self._bar.close()
        result = BulkResult(total=self.total, accepted=self.accepted, failed=self.failed)
        if self._stopping is not None:
            self._stopping.bulk_result = result  # type: ignore[attr-defined]
            for note in self._late:
                self._stopping.add_note(note)
            self._late.clear()
        return result
