"""The fake's command line, shared by ``python -m intercom_events.testing`` and other CLIs.

``serve_forever(argv)`` parses the options, starts :class:`FakeIntercom` on the main thread's
loop, prints its URL and token (flushed, so a parent process can read them), and serves until
Ctrl-C or SIGTERM, then returns 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

import attrs

from ._faults import DEFAULT_SLOW_DELAY, FAULT_KINDS
from ._server import FakeIntercom


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


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The option parser (exposed so another CLI can show the same help)."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Serve a local fake of Intercom's Data Events API until Ctrl-C."
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--token", default="test-token", help="the bearer token to accept")
    parser.add_argument(
        "--rate-limit", type=int, default=None, help="requests allowed per 10-second window"
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
    return parser


async def _serve(args: argparse.Namespace) -> None:
    if args.rate_limit is not None and args.rate_limit < 1:
        raise ValueError("--rate-limit must be >= 1")
    fake = FakeIntercom(
        token=args.token, rate_limit=args.rate_limit, seed=args.seed, port=args.port
    )
    users = [fake.add_user(user_id=user_id) for user_id in args.user]
    users += [fake.add_user(email=email) for email in args.email]
    for spec in args.fault:
        fake.inject(spec.kind, first=spec.first, rate=spec.rate, delay=spec.delay)
    stop = asyncio.Event()
    with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with fake:
        print(f"Fake Intercom listening on {fake.url}", flush=True)
        print(f"Token: {fake.token}", flush=True)
        for name, intercom_id in zip(args.user + args.email, users, strict=True):
            print(f"User {name}: {intercom_id}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        await stop.wait()


def serve_forever(argv: list[str] | None = None, *, prog: str | None = None) -> int:
    """Run the fake from command-line arguments until interrupted; the process exit code."""
    args = build_parser(prog).parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
