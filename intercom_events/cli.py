"""The ``intercom-events`` command line (also ``python -m intercom_events``).

Global options (``--base-url``, ``--region``, ``--token``, ``--json``) go before or after the
command. API errors become one line on stderr with the status and request id, never a
traceback. Exit codes: 0 done, 1 the API refused or some events failed, 2 usage, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ._version import __version__
from .errors import APIConnectionError, APIStatusError, IntercomError, InvalidEventError

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
    imports.add_argument("--concurrency", type=int, default=16, help="requests in flight (16)")
    imports.add_argument("--failed", type=Path, metavar="PATH", help="write failed events here")
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
    except (IntercomError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from .client import DataEventsClient

    with DataEventsClient(args.token, region=args.region, base_url=args.base_url) as client:
        from .commands import run_command, run_import

        if args.command == "import":
            return run_import(args, client, sys.stdout)
        return run_command(args, client, sys.stdout)
