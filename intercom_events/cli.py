"""The ``intercom-events`` command line (also ``python -m intercom_events``)."""

from __future__ import annotations

import argparse
import sys

from ._version import __version__

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run a command; the process exit code."""
    parser = argparse.ArgumentParser(
        prog="intercom-events", description="Intercom Data Events from the command line."
    )
    parser.add_argument("--version", action="version", version=f"intercom-events {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser(
        "demo", help="run the SDK against the bundled fake Intercom (no token, no network)"
    )
    commands.add_parser(
        "fake",
        help="serve the bundled fake Intercom until Ctrl-C (see 'fake --help')",
        add_help=False,
    )
    args, rest = parser.parse_known_args(argv)
    if args.command == "fake":
        from .testing._cli import serve_forever

        return serve_forever(rest, prog="intercom-events fake")
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    from .demo import run_demo

    return run_demo(sys.stdout)
