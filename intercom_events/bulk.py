"""Bulk sending, the part both clients share: preparing events and accounting for each.

Every event read from the input ends in exactly one place: ``accepted`` or ``failed``
(``accepted + len(failed) == total``), and ``on_result`` hears of each as it finishes. The
clients only keep up to ``concurrency`` requests in flight (threads or tasks).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from typing import Any

from . import operations
from .calls import Call
from .config import ClientConfig
from .errors import APIConnectionError, InvalidEventError
from .models import BulkResult, DataEvent, FailedEvent

__all__ = ["BulkTally", "check_concurrency"]

OnResult = Callable[[DataEvent, Exception | None], Any]
INTERRUPTED = (
    "interrupted before its outcome was known; safe to resend as it is "
    "(its created_at is pinned, so Intercom de-duplicates it)"
)


def check_concurrency(concurrency: object) -> int:
    """A positive int, or :class:`InvalidEventError`."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidEventError("concurrency", f"must be an int >= 1, got {concurrency!r}")
    return concurrency


class BulkTally:
    """Counts a bulk send and reports each finished event, with an optional progress bar."""

    def __init__(
        self,
        config: ClientConfig,
        *,
        on_result: OnResult | None,
        progress: bool,
        events: Iterable[Any] | object,
    ) -> None:
        self._config = config
        self._on_result = on_result
        self.total = 0
        self.accepted = 0
        self.failed: list[FailedEvent] = []
        self._bar = _progress_bar(events) if progress else None

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
            return operations.create_data_event(self._config, event)
        except InvalidEventError as error:
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
            self._on_result(event, error)

    def interrupted(self, in_flight: Iterable[DataEvent]) -> None:
        """Report the events whose requests were cut short: outcome unknown, safe to resend."""
        for event in in_flight:
            self.report(event, APIConnectionError(INTERRUPTED, request_sent=True))

    def result(self) -> BulkResult:
        """The totals; closes the progress bar."""
        if self._bar is not None:
            self._bar.close()
        return BulkResult(total=self.total, accepted=self.accepted, failed=self.failed)


def _progress_bar(events: object) -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        raise ImportError(
            "progress=True needs tqdm: pip install 'intercom-events[progress]'"
        ) from None
    total = operator.length_hint(events) or None
    return tqdm(total=total, unit="event", desc="sending", dynamic_ncols=True)
