"""The ``import`` command: send a ``.jsonl`` or ``.csv`` file's events, report each failure.

The file formats are in ``_importer``. Failed events go to stderr and to ``--failed`` (jsonl
this command can re-run); an interruption says exactly where to resume.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from ..client import DataEventsClient
from ..errors import ForbiddenError, UnauthorizedError
from ..models import DataEvent
from ._importer import BadRow, EventFile, failed_line
from ._output import describe, stderr, who
from ._parser import count_flag

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
        help="requests in flight (16)",
    )
    imports.add_argument(
        "--failed",
        type=Path,
        metavar="PATH",
        help="write failed events here, as jsonl that this command can re-run",
    )
    imports.add_argument("--no-progress", action="store_true", help="no progress display")


def run_import(args: argparse.Namespace, client: DataEventsClient, out: TextIO) -> int:
    """Send a file's events; failed ones to ``--failed``; exit 0, or 1 if any failed."""
    failed_path: Path | None = args.failed
    if failed_path is not None and failed_path.exists() and failed_path.samefile(args.file):
        raise ValueError(f"--failed {failed_path}: must not be FILE, which it would overwrite")
    with EventFile(args.file) as source:
        # A bar on a terminal (with tqdm); a line every 1,000 events otherwise, e.g. in logs.
        shown = not args.no_progress
        progress = shown and sys.stderr.isatty() and importlib.util.find_spec("tqdm") is not None
        report = failed_path.open("w", encoding="utf-8") if failed_path else None
        tally = _Tally(report, counter=shown and not progress)
        try:
            client.send_data_events(
                tally.events(source),
                concurrency=args.concurrency,
                progress=progress,
                on_result=tally.on_result,
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
            if report is not None:
                report.close()
    tally.done()
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
    """Counts an import, reports each failure (stderr and the failed file), counts progress."""

    def __init__(self, report: TextIO | None, *, counter: bool) -> None:
        self.accepted = self.failed = 0
        self._report = report
        self._counter = counter
        self._refused = False

    @property
    def total(self) -> int:
        return self.accepted + self.failed

    def events(self, source: EventFile) -> Iterator[DataEvent]:
        """The file's events; a bad row is reported as failed and not sent."""
        for item in source:
            if isinstance(item, BadRow):
                self._fail(item, item.error)
            else:
                yield item

    def on_result(self, event: DataEvent, error: Exception | None) -> None:
        """``send_data_events`` finished one event (in-flight ones on Ctrl-C included)."""
        if error is None:
            self.accepted += 1
            self._tick()
            return
        self._fail(event, error)
        if isinstance(error, UnauthorizedError | ForbiddenError) and not self._refused:
            self._refused = True
            raise _TokenRefused(error)  # no probing: the rest stays unsent

    def _fail(self, item: DataEvent | BadRow, error: Exception) -> None:
        self.failed += 1
        stderr(f"failed: {_label(item)}{describe(error)}")
        if self._report is not None:
            print(failed_line(item, error), file=self._report, flush=True)
        self._tick()

    def _tick(self) -> None:
        if self._counter and self.total % 1000 == 0:
            stderr(f"{self.total} events sent: {self.accepted} accepted, {self.failed} failed")

    def done(self) -> None:
        if self._counter:
            stderr(f"{self.total} events read")

    def stopped(self, source: EventFile) -> str:
        """Where an import stopped: what is done, and where to resume."""
        return (
            f"{self.total} events done ({self.accepted} accepted, {self.failed} failed, in-flight "
            f"ones included); rows after line {source.line} of {source.path} were not sent"
        )


def _label(item: DataEvent | BadRow) -> str:
    """``placed-order for user_id=42: `` for an event; a bad row's error names its line."""
    return f"{item.event_name} for {who(item)}: " if isinstance(item, DataEvent) else ""
