""":class:`SQLiteOutbox`: tracked events in an SQLite file, committed before ``track()`` returns.

Any number of processes may track into one file; one at a time sends, under the file's lease
(``lease``), which a keeper thread takes, renews and gives up, and which also writes the WAL
back (checkpoints) off the callers' threads. A forked child opens its own connection.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Self, TypeVar

from .._core.checks import bounded_int
from .._core.converter import converter
from .._core.headers import Headers
from .._core.response import status_error
from .._core.timestamps import Pins
from .._transport.forks import renew_after_fork
from ..errors import APIStatusError, IntercomError, InvalidEventError
from ..models import DataEvent, FailedEvent
from . import lease
from .outbox import Build, Item, full
from .schema import SYNCHRONOUS, FilePins, connect

__all__ = ["SQLiteOutbox"]

T = TypeVar("T")
_ERROR_BYTES = 4096
"""How much of a dead letter's response body is kept."""


class SQLiteOutbox:
    """Tracked events in the SQLite file at ``path`` (WAL): they survive a crash or a kill.

    ``durable="process"`` (WAL, ``synchronous=NORMAL``) survives the process being killed;
    ``"fsync"`` (``synchronous=FULL``) also a power loss, at the cost of a sync per event.
    Full at ``max_events`` undelivered events (the whole file's).
    """

    poll: float | None = 0.1

    def __init__(
        self, path: str | os.PathLike[str], *, durable: str = "process", max_events: int = 1_000_000
    ) -> None:
        if durable not in SYNCHRONOUS:
            raise InvalidEventError("durable", f"must be 'process' or 'fsync', got {durable!r}")
        self.path = os.fspath(path)
        self.durable = durable
        self.max_events = bounded_int("max_events", max_events, minimum=1)
        self._pins = FilePins(self._in_transaction)
        self.shared_pins: Pins | None = self._pins
        self._inherited: list[Any] = []  # a forked child's copies of the parent's connections
        self._fresh()
        try:  # a bad path fails now, not at the first track()
            connect(self.path, durable, checkpoints=False).close()
        except sqlite3.Error as exc:
            raise InvalidEventError("outbox", f"cannot open {self.path!r}: {exc}") from exc
        renew_after_fork(self)

    def _fresh(self) -> None:
        self._lock = threading.RLock()
        self._open: Any = None
        self._taken: set[int] = set()
        self._keeper: lease.Keeper | None = None

    def _after_fork(self) -> None:
        # SQLite connections must not cross a fork: keep the parent's, unused and unclosed.
        self._inherited += [self._open, self._keeper]
        self._fresh()

    def __repr__(self) -> str:
        return f"SQLiteOutbox({self.path!r}, durable={self.durable!r})"

    def _connection(self) -> Any:
        if self._open is None:
            self._open = connect(self.path, self.durable, checkpoints=False)
        return self._open

    def _run(self, work: Callable[[Any], T]) -> T:
        with self._lock:
            return work(self._connection())

    def _look(self, work: Callable[[Any], T]) -> T:
        """``work`` on the open connection, or on one of its own (an outbox only inspected,
        or read after its client closed, keeps no connection open)."""
        with self._lock:
            if self._open is not None:
                return work(self._open)
        connection = connect(self.path, self.durable, checkpoints=False)
        try:
            return work(connection)
        finally:
            connection.close()

    def _in_transaction(self, work: Callable[[Any], T]) -> T:
        """``work`` in a write transaction: the one under way (in ``add``), or its own."""
        with self._lock:
            connection = self._connection()
            if connection.in_transaction:
                return work(connection)
            connection.execute("BEGIN IMMEDIATE")
            try:
                result = work(connection)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
            return result

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Any]:
        """One write transaction on this thread's behalf: ``add()`` calls inside it join it, so
        an import commits a row's event and its file progress together (or neither)."""
        with self._lock:
            connection = self._connection()
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def add(self, build: Build, pins: Pins) -> tuple[DataEvent, int]:
        def store(connection: Any) -> tuple[DataEvent, int]:
            (pending,) = connection.execute("SELECT n FROM counts").fetchone()
            if pending >= self.max_events:
                raise full(self.max_events)
            event, body = build(self._pins)
            connection.execute("INSERT INTO events (body) VALUES (?)", (body,))
            return event, pending + 1

        return self._in_transaction(store)

    def take(self, now: float, limit: int) -> list[Item]:
        def due(connection: Any) -> list[Item]:
            rows = connection.execute(
                "SELECT id, body, attempts, unknown_since FROM events "
                "WHERE state = 0 AND due <= ? ORDER BY due, id LIMIT ?",
                (now, limit + len(self._taken)),
            ).fetchall()
            items: list[Item] = []
            for row_id, body, attempts, unknown_since in rows:
                if row_id in self._taken or len(items) == limit:
                    continue
                try:
                    event = converter.structure(json.loads(body), DataEvent)
                except Exception as exc:  # a damaged row: a dead letter, not a stuck sender
                    self._bury(connection, row_id, None, f"unreadable stored event: {exc}")
                    continue
                self._taken.add(row_id)
                items.append(Item(row_id, event, attempts, unknown_since))
            return items

        return self._run(due)

    def next_due(self) -> float | None:
        def first(connection: Any) -> float | None:
            rows = connection.execute(
                "SELECT id, due FROM events WHERE state = 0 ORDER BY due, id LIMIT ?",
                (len(self._taken) + 1,),
            ).fetchall()
            return next((due for row_id, due in rows if row_id not in self._taken), None)

        return self._run(first)

    def done(self, item: Item) -> None:
        self._run(lambda c: c.execute("DELETE FROM events WHERE id = ?", (item.id,)))
        self._taken.discard(item.id)

    def later(self, item: Item, at: float) -> None:
        self._run(
            lambda c: c.execute(
                "UPDATE events SET due = ?, attempts = ?, unknown_since = ? WHERE id = ?",
                (at, item.attempts, item.unknown_since, item.id),
            )
        )
        self._taken.discard(item.id)

    def dead(self, item: Item, error: Exception) -> None:
        if isinstance(error, APIStatusError):
            status, detail = error.status_code, bytes(error.body[:_ERROR_BYTES])
        else:
            status, detail = None, f"{type(error).__name__}: {error}".encode()
        self._run(lambda c: self._bury(c, item.id, status, detail))
        self._taken.discard(item.id)

    @staticmethod
    def _bury(connection: Any, row_id: int, status: int | None, detail: bytes | str) -> None:
        connection.execute(
            "UPDATE events SET state = 1, status = ?, error = ?, failed_at = ? WHERE id = ?",
            (status, detail, time.time(), row_id),
        )

    def release(self, items: Iterable[Item]) -> None:
        with self._lock:
            self._taken.difference_update(item.id for item in items)

    def pending(self) -> int:
        """Events in the file not yet delivered or dead (every process's)."""
        return int(self._look(lambda c: c.execute("SELECT n FROM counts").fetchone()[0]))

    def failed(self) -> list[FailedEvent]:
        """The dead letters, oldest first, each with an error rebuilt from what was stored."""
        rows = self._look(
            lambda c: c.execute(
                "SELECT body, status, error FROM events WHERE state = 1 ORDER BY id"
            ).fetchall()
        )
        failures = []
        for body, status, detail in rows:
            try:
                event = converter.structure(json.loads(body), DataEvent)
            except Exception:
                event = DataEvent(event_name="(unreadable)")
            failures.append(FailedEvent(event, _error(status, detail)))
        return failures

    def requeue_failed(self) -> int:
        """Queue every dead letter again, as new; how many."""
        return int(
            self._in_transaction(
                lambda c: (
                    c.execute(
                        "UPDATE events SET state = 0, due = 0, attempts = 0, unknown_since = NULL, "
                        "status = NULL, error = NULL, failed_at = NULL WHERE state = 1"
                    ).rowcount
                )
            )
        )

    def holds_lease(self) -> bool:
        return self._keeper is not None and self._keeper.holds()

    def holder(self) -> tuple[lease.Holder, float] | None:
        """Who holds the lease, and until when (Unix seconds), or None."""
        return self._look(lease.holder)

    def start_sending(self) -> None:
        """Seek the lease now, then keep seeking or renewing it from a keeper thread."""
        if self._keeper is None:
            self._keeper = lease.Keeper(connect(self.path, self.durable, checkpoints=True))

    def stop_sending(self) -> list[DataEvent]:
        """Give up the lease (events stay in the file for the next sender)."""
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.stop()
        with self._lock:
            self._taken.clear()
        self.close()
        return []

    def close(self) -> None:
        """Close the connection (a later call opens it again)."""
        with self._lock:
            if self._open is not None:
                self._open.close()
                self._open = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _error(status: int | None, detail: bytes) -> IntercomError:
    if status is not None:
        return status_error(status, Headers(), detail, now=time.time())
    return IntercomError(detail.decode(errors="replace"))
