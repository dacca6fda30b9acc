"""The ``import`` command: send a ``.jsonl`` or ``.csv`` file's events, report each failure.

The file formats are in ``_importer``. By default the import runs through an SQLite outbox
beside the file and resumes after a crash (``_resume``); ``--no-outbox`` sends from memory,
as before: failed events go to stderr and to ``--failed``, and an interruption says exactly
where to resume. ``--failed`` is written in its own name's format (``_failed``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from ..client import DataEventsClient
from ..errors import ForbiddenError, UnauthorizedError
from ..models import DataEvent
from ._failed import FailedFile, record
from ._importer import BadRow, EventFile
from ._output import describe, stderr, who
from ._parser import count_flag, seconds_flag
from ._progress import ImportProgress
from ._resume import run_resumable

__all__ = ["add_commands", "run_import"]


def add_commands(commands: Any) -> None:
    """The ``import`` sub-parser."""
    imports = commands.add_parser(
        "import",
        help="send the events of a .jsonl or .csv file",
        description="Send every event of a .jsonl or .csv file; see the docs for the columns.",
    )
    imports.add_argument("file", type=Path, metavar="FILE")
    imports.add_argument(
        "--concurrency",
        type=count_flag("concurrency"),
        default=16,
        metavar="N",
        help="requests in flight with --no-outbox (16); an outbox's sender keeps 8",
    )
    imports.add_argument(
        "--failed",
        type=Path,
        metavar="PATH",
        help="write failed rows here to fix and re-run: CSV for a .csv name, else jsonl; "
        "unparseable lines go to PATH.rejects",
    )
    imports.add_argument(
        "--outbox",
        type=Path,
        metavar="PATH",
        help="the SQLite outbox that makes the import resumable "
        "(default: FILE.intercom-outbox.sqlite3)",
    )
    imports.add_argument(
        "--no-outbox", action="store_true", help="send from memory: no resume after a crash"
    )
    imports.add_argument(
        "--restart",
        action="store_true",
        help="forget the outbox's progress, pending events and failures; start over",
    )
    imports.add_argument(
        "--unknown-user-retry",
        type=seconds_flag("--unknown-user-retry"),
        default=None,
        metavar="SECONDS",
        help="retry a 404 (unknown user) this long before it fails (default: fail at once)",
    )
    imports.add_argument("--no-progress", action="store_true", help="no progress display")


def run_import(
    args: argparse.Namespace, connect: Callable[..., DataEventsClient], out: TextIO
) -> int:
    """Send a file's events; failed ones to ``--failed``; exit 0, or 1 if any failed."""
    failed_path: Path | None = args.failed
    for flag, given in (("--failed", failed_path), ("--outbox", args.outbox)):
        if given is not None and given.exists() and given.samefile(args.file):
            raise ValueError(f"{flag} {given}: must not be FILE, which it would overwrite")
    if args.no_outbox:
        if args.outbox or args.restart:
            raise ValueError("--outbox and --restart need the outbox: drop --no-outbox")
        with connect(unknown_user_retry=0.0) as client:
            return _from_memory(args, client, out)
    return run_resumable(args, connect, out)


def _from_memory(args: argparse.Namespace, client: DataEventsClient, out: TextIO) -> int:
    with EventFile(args.file) as source:
        report = FailedFile(args.failed)
        report.start()
        progress = ImportProgress(
            size=args.file.stat().st_size, offset=0, rows=0, shown=not args.no_progress
        )
        tally = _Tally(report, progress, source)
        try:
            client.send_data_events(
                tally.events(source), concurrency=args.concurrency, on_result=tally.on_result
            )
        except KeyboardInterrupt:
            stderr(f"interrupted: {tally.stopped(source)}")
            return 130
        except _TokenRefused as refused:
            why = describe(refused.error)
            stderr(f"stopped: Intercom refused the token ({why}); {tally.stopped(source)}")
            return 1
        except Exception:
            stderr(f"stopped: {tally.stopped(source)}")
            raise
        finally:
            report.close()
            progress.close(**tally.counts())
    summary = {"total": tally.total, "accepted": tally.accepted, "failed": tally.failed}
    text = f"imported {tally.total} events: {tally.accepted} accepted, {tally.failed} failed"
    print(json.dumps(summary) if args.json else text, file=out)
    return 0 if tally.failed == 0 else 1


class _TokenRefused(Exception):
    """A 401 or 403: every later row would fail the same way, so the import stops."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        super().__init__(str(error))


class _Tally:
    """Counts an import, reports each failure (stderr and the failed file), shows progress."""

    def __init__(self, report: FailedFile, progress: ImportProgress, source: EventFile) -> None:
        self.accepted = self.failed = self.read = 0
        self._report = report
        self._progress = progress
        self._source = source
        self._refused = False

    @property
    def total(self) -> int:
        return self.accepted + self.failed

    def counts(self) -> dict[str, int]:
        pending = self.read - self.total
        return {"offset": self._source.offset, "rows": self.read, "accepted": self.accepted,
                "failed": self.failed, "pending": pending}  # fmt: skip

    def events(self, source: EventFile) -> Iterator[DataEvent]:
        """The file's events; a bad row is reported as failed and not sent."""
        for item in source:
            self.read += 1
            if isinstance(item, BadRow):
                self._fail(item, item.error)
            else:
                yield item

    def on_result(self, event: DataEvent, error: Exception | None) -> None:
        """``send_data_events`` finished one event (in-flight ones on Ctrl-C included)."""
        if error is None:
            self.accepted += 1
            self._progress.update(**self.counts())
            return
        self._fail(event, error)
        if isinstance(error, UnauthorizedError | ForbiddenError) and not self._refused:
            self._refused = True
            raise _TokenRefused(error)  # no probing: the rest stays unsent

    def _fail(self, item: DataEvent | BadRow, error: Exception) -> None:
        self.failed += 1
        stderr(f"failed: {_label(item)}{describe(error)}")
        if isinstance(item, BadRow) and item.raw is not None:
            self._report.reject(item.line, item.raw, item.error.rule)
        else:
            self._report.row(record(item), describe(error))
        self._progress.update(**self.counts())

    def stopped(self, source: EventFile) -> str:
        """Where an import stopped: what is done, and where to resume."""
        return (
            f"{self.total} events done ({self.accepted} accepted, {self.failed} failed, in-flight "
            f"ones included); rows after line {source.line} of {source.path} were not sent"
        )


def _label(item: DataEvent | BadRow) -> str:
    """``placed-order for user_id=42: `` for an event; a bad row's error names its line."""
    return f"{item.event_name} for {who(item)}: " if isinstance(item, DataEvent) else ""
