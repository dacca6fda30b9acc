"""The ``intercom-events`` command line (also ``python -m intercom_events``).

Global options (``--base-url``, ``--region``, ``--token``, ``--json``) go before or after the
command. API errors become one line on stderr with the status and request id, never a
traceback. Exit codes: 0 done, 1 the API refused or some events failed, 2 usage, 130 Ctrl-C.
``import`` is here; the file formats are in :mod:`intercom_events.importer`.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ._version import __version__
from .errors import APIConnectionError, APIStatusError, IntercomError, InvalidEventError

if TYPE_CHECKING:
    from .client import DataEventsClient
    from .importer import BadRow, EventFile
    from .models import DataEvent

__all__ = ["main"]

_ACCESS_HELP = (
    "access token (default: $INTERCOM_ACCESS_TOKEN, then $INTERCOM_API_KEY; prefer the "
    "environment: a flag lands in your shell history)"
)


def _global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # Sub-commands repeat the options with SUPPRESS defaults, so "--json list" and
    # "list --json" both work without one overwriting the other.
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--base-url", default=default, help="API host (default: the region's)")
    parser.add_argument(
        "--region", choices=["us", "eu", "au"], default="us" if top else default, help="data region"
    )
    parser.add_argument("--token", default=default, help=_ACCESS_HELP)
    parser.add_argument(
        "--json", action="store_true", default=False if top else default, help="JSON output"
    )


def _parser() -> argparse.ArgumentParser:
    from .commands import add_commands

    parser = argparse.ArgumentParser(
        prog="intercom-events", description="Intercom Data Events from the command line."
    )
    parser.add_argument("--version", action="version", version=f"intercom-events {__version__}")
    _global_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser(
        "demo", help="run the SDK against the bundled fake Intercom (no token, no network)"
    )
    commands.add_parser("fake", help="serve the bundled fake Intercom (see 'fake --help')")
    add_commands(commands)
    imports = commands.add_parser(
        "import",
        help="send the events of a .jsonl or .csv file",
        description="Send every event of a .jsonl or .csv file; see the docs for the columns.",
    )
    imports.add_argument("file", type=Path, metavar="FILE")
    imports.add_argument(
        "--concurrency", type=_positive, default=16, metavar="N", help="requests in flight (16)"
    )
    imports.add_argument(
        "--failed",
        type=Path,
        metavar="PATH",
        help="write failed events here, as jsonl that this command can re-run",
    )
    imports.add_argument("--no-progress", action="store_true", help="no progress display")
    for name, sub in commands.choices.items():
        if name != "fake":
            _global_options(sub, top=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "fake" in argv and all(a.startswith("-") for a in argv[: argv.index("fake")]):
        from .testing._cli import serve_forever

        return serve_forever(argv[argv.index("fake") + 1 :], prog="intercom-events fake")
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from .demo import run_demo

        return run_demo(sys.stdout)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = functools.partial(_warning_line, set())
            return _run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except InvalidEventError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (APIStatusError, APIConnectionError) as error:
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        print(f"error: {where}{error.strerror or error}", file=sys.stderr)
        return 2
    except (IntercomError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from .client import DataEventsClient

    with DataEventsClient(args.token, region=args.region, base_url=args.base_url) as client:
        from .commands import run_command

        if args.command == "import":
            return run_import(args, client, sys.stdout)
        return run_command(args, client, sys.stdout)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return int(text)


def _warning_line(
    shown: set[str],
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """A warning as one line on stderr, each text once (not a file name and source line)."""
    if str(message) not in shown:
        shown.add(str(message))
        _stderr(f"warning: {message}")


def _stderr(text: str) -> None:
    """A line on stderr; through tqdm once it is loaded, so a progress bar stays whole."""
    tqdm = sys.modules.get("tqdm")
    if tqdm is not None:
        tqdm.tqdm.write(text, file=sys.stderr)
    else:
        print(text, file=sys.stderr)


def run_import(args: argparse.Namespace, client: DataEventsClient, out: TextIO) -> int:
    """Send a file's events; failed ones to ``--failed``; exit 0, or 1 if any failed."""
    from .importer import EventFile

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
            _stderr(f"interrupted: {tally.stopped(source)}")
            return 130
        except Exception:
            _stderr(f"stopped: {tally.stopped(source)}")
            raise
        finally:
            if report is not None:
                report.close()
    tally.done()
    summary = {"total": tally.total, "accepted": tally.accepted, "failed": tally.failed}
    text = f"imported {tally.total} events: {tally.accepted} accepted, {tally.failed} failed"
    print(json.dumps(summary) if args.json else text, file=out)
    return 0 if tally.failed == 0 else 1


class _Tally:
    """Counts an import, reports each failure (stderr and the failed file), counts progress."""

    def __init__(self, report: TextIO | None, *, counter: bool) -> None:
        self.accepted = self.failed = 0
        self._report = report
        self._counter = counter

    @property
    def total(self) -> int:
        return self.accepted + self.failed

    def events(self, source: EventFile) -> Iterator[DataEvent]:
        """The file's events; a bad row is reported as failed and not sent."""
        from .importer import BadRow

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
        else:
            self._fail(event, error)

    def _fail(self, item: DataEvent | BadRow, error: Exception) -> None:
        from .importer import describe, failed_line

        self.failed += 1
        _stderr(f"failed: {_label(item)}{describe(error)}")
        if self._report is not None:
            print(failed_line(item, error), file=self._report, flush=True)
        self._tick()

    def _tick(self) -> None:
        if self._counter and self.total % 1000 == 0:
            _stderr(f"{self.total} events sent: {self.accepted} accepted, {self.failed} failed")

    def done(self) -> None:
        if self._counter:
            _stderr(f"{self.total} events read")

    def stopped(self, source: EventFile) -> str:
        """Where an import stopped: what is done, and where to resume."""
        return (
            f"{self.total} events done ({self.accepted} accepted, {self.failed} failed, in-flight "
            f"ones included); rows after line {source.line} of {source.path} were not sent"
        )


def _label(item: DataEvent | BadRow) -> str:
    """``placed-order for user_id=42: `` for an event; a bad row's error names its line."""
    from .models import DataEvent

    if not isinstance(item, DataEvent):
        return ""
    who = next((f" for {k}={v}" for k in ("user_id", "email", "id") if (v := getattr(item, k))), "")
    return f"{item.event_name}{who}: "
