"""``import FILE --outbox PATH``: a backfill that survives a crash, a kill or a Ctrl-C.

Rows are read into an SQLite outbox while its sender drains it; each row commits with the
read position (``_tracking.imports``), so running the same command again sends what is
pending, skips the rows already read and goes on. A file changed since is refused unless
``--restart``. The sender stops at the first 401/403 (no probing): the rest stays pending.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from .._tracking.imports import ImportLedger, Position
from .._tracking.sqlite import SQLiteOutbox
from ..client import DataEventsClient
from ..errors import InvalidEventError
from ..models import DataEvent
from ._failed import FailedFile, record
from ._importer import BadRow, EventFile
from ._output import describe, stderr, who
from ._progress import ImportProgress

__all__ = ["outbox_path", "run_resumable"]

AHEAD = 2000
"""Rows read ahead of the sender at most: the outbox stays small however big the file."""
_LOOK = 0.05


def outbox_path(file: Path) -> Path:
    """The default outbox of an import: beside the file."""
    return file.with_name(file.name + ".intercom-outbox.sqlite3")


def run_resumable(
    args: argparse.Namespace, connect: Callable[..., DataEventsClient], out: TextIO
) -> int:
    """Import ``args.file`` through its outbox; 0 done, 1 some failed or stopped, 130 Ctrl-C."""
    file: Path = args.file
    outbox = SQLiteOutbox(args.outbox or outbox_path(file))
    ledger = ImportLedger(outbox)
    if args.restart:
        ledger.restart()
    position = ledger.position()
    if position is not None and position.file != str(file.resolve()):
        raise ValueError(
            f"{outbox.path} belongs to the import of {position.file}; "
            "give another --outbox, or --restart to start over with this file"
        )
    resume = (position.offset, position.line) if position else (0, 0)
    with EventFile(file, resume=resume) as source:
        if position is not None and source.digest() != position.digest:
            raise ValueError(
                f"{file} changed since its import began (its first {position.offset} bytes "
                "differ); --restart to import it again from the start"
            )
        size = file.stat().st_size
        rows = position.rows if position else 0
        if position is not None and rows:
            stderr(f"resuming {file} after line {position.line} ({rows} rows read before)")
        client = connect(
            outbox=outbox,
            unknown_user_retry=args.unknown_user_retry or 0.0,
            close_timeout=0.0,  # what is left is in the file: no drain (and no probe)
            on_track_error=_say_failed,  # in the sender's thread, as each one fails
        )
        run = _Run(client, ledger, source, Position(str(file.resolve()), size, *resume, "", rows))
        run.progress = ImportProgress(
            size=size, offset=resume[0], rows=rows, shown=not args.no_progress
        )
        try:
            stopped = run.read() or run.drain()
        except KeyboardInterrupt:
            stopped = "interrupted"
        finally:
            counts = run.counts()
            run.progress.close(**counts)
            client.close()  # the events left are in the file: nothing to wait for
        _write_failed(ledger, FailedFile(args.failed), outbox.path)
    return _report(args, out, stopped, counts, outbox.path)


class _Run:
    """One run of an import: reads rows into the outbox, then waits for it to drain."""

    progress: ImportProgress

    def __init__(
        self, client: DataEventsClient, ledger: ImportLedger, source: EventFile, at: Position
    ) -> None:
        self.client, self.ledger, self.source, self.at = client, ledger, source, at
        self._counted = 0.0

    def counts(self) -> dict[str, int]:
        pending = self.client.outbox.pending()
        dead, rejects = self.ledger.counts()
        failed = dead + rejects
        return {
            "offset": self.at.offset,
            "rows": self.at.rows,
            "accepted": self.at.rows - failed - pending,
            "failed": failed,
            "pending": pending,
        }

    def _show(self) -> None:
        now = time.monotonic()
        if now - self._counted >= 0.2 or not self.at.rows % 1000:
            self._counted = now
            self.progress.update(**self.counts())

    def read(self) -> str | None:
        """Every row into the outbox; why it stopped early, or None."""
        for item in self.source:
            while self.client.outbox.pending() >= AHEAD:
                if stop := self._stopping():
                    return stop
                time.sleep(_LOOK)
            self.at = Position(
                self.at.file,
                self.at.size,
                self.source.offset,
                self.source.line,
                self.source.digest(),
                self.at.rows + 1,
            )
            with self.ledger.row(self.at) as connection:
                self._take(connection, item)
            self._show()
            if stop := self._stopping():
                return stop
        self.ledger.finish()
        return None

    def _take(self, connection: Any, item: DataEvent | BadRow) -> None:
        if isinstance(item, BadRow):
            stderr(f"failed: {describe(item.error)}")
            if item.raw is not None:
                self.ledger.reject(connection, item.line, item.raw, item.error.rule)
            else:
                self.ledger.refuse(connection, record(item), item.error)
            return
        try:
            self.client.track(
                event_name=item.event_name,
                user_id=item.user_id,
                id=item.id,
                email=item.email,
                created_at=item.created_at,
                metadata=item.metadata,
            )
        except InvalidEventError as error:  # the client's own rules (metadata_max_keys)
            where = InvalidEventError(f"line {self.source.line}: {error.field}", error.rule)
            _say_failed(item, where)
            self.ledger.refuse(connection, record(item), where)

    def drain(self) -> str | None:
        """Wait until nothing is pending; why it stopped early, or None."""
        while self.client.outbox.pending():
            if stop := self._stopping():
                return stop
            self._show()
            time.sleep(_LOOK)
        return None

    def _stopping(self) -> str | None:
        if self.client._tracker.books.paused:  # a 401/403: an import does not probe
            return "Intercom refused the token (401/403)"
        return None


def _say_failed(event: DataEvent, error: Exception) -> None:
    stderr(f"failed: {event.event_name} for {who(event)}: {describe(error)}")


def _write_failed(ledger: ImportLedger, failed: FailedFile, outbox: str) -> None:
    """The failed file from the dead letters, and its rejects (every run writes them anew)."""
    rows, rejects = ledger.failed(), ledger.rejects()
    if failed.path is None:
        if rows or rejects:
            stderr(
                f"{len(rows) + len(rejects)} rows failed: `intercom-events outbox {outbox} "
                "failed` lists them, or re-run with --failed PATH to write them out"
            )
        return
    failed.start()
    try:
        for row, error in rows:
            failed.row(row, error)
        for line, raw, reason in rejects:
            failed.reject(line, raw, reason)
    finally:
        failed.close()
    if rows or rejects:
        also = f", {len(rejects)} unparseable lines to {failed.rejects_path}" if rejects else ""
        stderr(f"{len(rows)} failed rows written to {failed.path}{also}")


def _report(
    args: argparse.Namespace, out: TextIO, stopped: str | None, counts: dict[str, int], at: str
) -> int:
    rows, accepted, failed, pending = (
        counts[name] for name in ("rows", "accepted", "failed", "pending")
    )
    if stopped is not None:
        resume = f"{pending} pending in {at}: run the same command again to resume"
        stderr(f"{'interrupted' if stopped == 'interrupted' else 'stopped: ' + stopped}; {resume}")
    summary = {"total": rows, "accepted": accepted, "failed": failed}
    text = f"imported {rows} events: {accepted} accepted, {failed} failed"
    if pending:
        summary["pending"] = pending
        text += f", {pending} pending"
    print(json.dumps(summary) if args.json else text, file=out)
    if stopped == "interrupted":
        return 130
    return 0 if stopped is None and failed == 0 else 1
