"""The parser's shared parts: the global options and flag types built on the SDK's rules.

Each command family adds its own sub-parser (``add_commands``); ``_main`` puts them together.
A flag's value is checked by the same rule the SDK applies, and a broken rule is a usage
error (exit 2) before anything is read or sent.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from .._core.checks import bounded_int, number
from .._core.validation import parse_time
from .._version import __version__
from ..errors import InvalidEventError

__all__ = [
    "add_global_options",
    "add_rate_gate_options",
    "count_flag",
    "new_parser",
    "seconds_flag",
    "time_flag",
]

T = TypeVar("T")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_ACCESS_HELP = (
    "access token (default: $INTERCOM_ACCESS_TOKEN, then $INTERCOM_API_KEY; prefer the "
    "environment: a flag lands in your shell history)"
)


def new_parser() -> argparse.ArgumentParser:
    """The top-level parser with the global options, before any command is added."""
    parser = argparse.ArgumentParser(
        prog="intercom-events", description="Intercom Data Events from the command line."
    )
    parser.add_argument("--version", action="version", version=f"intercom-events {__version__}")
    add_global_options(parser, top=True)
    return parser


def add_global_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """``--base-url``, ``--region``, ``--token``, ``--json``, before or after the command.

    Sub-commands repeat them with SUPPRESS defaults, so ``--json list`` and ``list --json``
    both work without one overwriting the other.
    """
    default = None if top else argparse.SUPPRESS
    parser.add_argument("--base-url", default=default, help="API host (default: the region's)")
    parser.add_argument(
        "--region", choices=["us", "eu", "au"], default="us" if top else default, help="data region"
    )
    parser.add_argument("--token", default=default, help=_ACCESS_HELP)
    parser.add_argument(
        "--json", action="store_true", default=False if top else default, help="JSON output"
    )


def add_rate_gate_options(parser: argparse.ArgumentParser) -> None:
    """``--rate-gate`` and its key: one rate-limit window for every process sending."""
    parser.add_argument(
        "--rate-gate",
        metavar="URL",
        help="share the rate limit with every process using this Redis "
        "(redis://host:6379/0; needs intercom-events[redis]) and --rate-gate-key",
    )
    parser.add_argument(
        "--rate-gate-key",
        metavar="KEY",
        help="the window's Redis key: one per Intercom app, e.g. intercom-events:my-app",
    )


def _flag(rule: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type from a rule: its :class:`InvalidEventError` becomes a usage error."""

    def parse(text: str) -> T:
        try:
            return rule(text)
        except InvalidEventError as error:
            raise argparse.ArgumentTypeError(error.rule) from None

    return parse


def time_flag(text: str) -> int | datetime:
    """A time flag: Unix seconds, or ISO 8601 with an offset."""
    return _flag(lambda value: parse_time("time", value))(text)


def count_flag(field: str) -> Callable[[str], int]:
    """A flag holding an int >= 1, such as ``--concurrency``."""

    def rule(text: str) -> int:
        value: object = int(text) if _INTEGER.fullmatch(text.strip()) else text
        return bounded_int(field, value, minimum=1)

    return _flag(rule)


def seconds_flag(field: str) -> Callable[[str], float]:
    """A flag holding a finite number of seconds >= 0, such as ``--timeout``."""

    def rule(text: str) -> float:
        try:
            value: object = float(text)
        except ValueError:
            value = text
        return number(field, value)

    return _flag(rule)
