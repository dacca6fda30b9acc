"""The fake's command-line options, shared by ``python -m intercom_events.testing`` and the
SDK's ``intercom-events fake`` (light: no aiohttp, no asyncio)."""

from __future__ import annotations

import argparse

import attrs

from ._faults import DEFAULT_SLOW_DELAY, FAULT_KINDS

__all__ = [
    "DEFAULT_TOKEN",
    "DESCRIPTION",
    "FaultSpec",
    "add_options",
    "build_parser",
    "parse_fault",
]


@attrs.frozen
class FaultSpec:
    """One ``--fault KIND[:first=N][:rate=P][:delay=S]`` option, parsed."""

    kind: str
    first: int | None = None
    rate: float | None = None
    delay: float = DEFAULT_SLOW_DELAY


def parse_fault(text: str) -> FaultSpec:
    """Parse ``500:first=2``, ``429:rate=0.1``, ``slow:first=1:delay=0.5`` and the like."""
    kind, *options = text.split(":")
    if kind not in FAULT_KINDS:
        raise argparse.ArgumentTypeError(f"unknown fault kind {kind!r} (one of {FAULT_KINDS})")
    values: dict[str, str] = {}
    for option in options:
        name, sep, value = option.partition("=")
        if not sep or name not in ("first", "rate", "delay") or name in values:
            raise argparse.ArgumentTypeError(f"bad fault option {option!r} in {text!r}")
        values[name] = value
    try:
        first = int(values["first"]) if "first" in values else None
        rate = float(values["rate"]) if "rate" in values else None
        delay = float(values.get("delay", DEFAULT_SLOW_DELAY))
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad number in fault {text!r}") from None
    if (first is not None and first < 0) or (rate is not None and not 0 <= rate <= 1) or delay < 0:
        raise argparse.ArgumentTypeError(f"out-of-range value in fault {text!r}")
    return FaultSpec(kind, first, rate, delay)


DESCRIPTION = "Serve a local fake of Intercom's Data Events API until Ctrl-C."
DEFAULT_TOKEN = "test-token"  # noqa: S105 - the fake's well-known test token


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The option parser of ``python -m intercom_events.testing``."""
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    add_options(parser)
    return parser


def add_options(parser: argparse.ArgumentParser) -> None:
    """The fake's options, on ``parser`` (so the SDK's own CLI has a real ``fake`` command).

    ``--token`` has no default here: a token given before the command counts too.
    """
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument(
        "--token",
        default=argparse.SUPPRESS,
        help=f"the bearer token to accept (default: {DEFAULT_TOKEN})",
    )
    parser.add_argument(
        "--rate-limit", type=int, default=None, help="requests allowed per rate-limit window"
    )
    parser.add_argument(
        "--window", type=int, default=10, help="seconds in a rate-limit window (default: 10)"
    )
    parser.add_argument(
        "--fault",
        type=parse_fault,
        action="append",
        default=[],
        metavar="KIND[:first=N][:rate=P][:delay=S]",
        help=f"inject a fault (repeatable); KIND is one of {', '.join(FAULT_KINDS)}",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for ids and random faults")
    parser.add_argument(
        "--user", action="append", default=[], metavar="USER_ID", help="register a user_id"
    )
    parser.add_argument(
        "--email", action="append", default=[], metavar="EMAIL", help="register an email"
    )
