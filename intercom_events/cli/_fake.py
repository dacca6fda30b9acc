"""The ``fake`` command: serve the bundled fake Intercom (``intercom_events.testing``)."""

from __future__ import annotations

import argparse
from typing import Any

from ..testing._options import DESCRIPTION, add_options

__all__ = ["add_commands", "run"]


def add_commands(commands: Any) -> None:
    """The ``fake`` sub-parser, with the options of ``python -m intercom_events.testing``."""
    fake = commands.add_parser(
        "fake", help="serve the bundled fake Intercom (see 'fake --help')", description=DESCRIPTION
    )
    add_options(fake)


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; the exit code."""
    from ..testing._cli import serve  # asyncio and aiohttp load for this command only

    return serve(args)
