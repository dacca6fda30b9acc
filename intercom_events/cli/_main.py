"""Running a command: parse, dispatch, and turn errors into one line and an exit code.

Exit codes: 0 done, 1 the API refused or some events failed, 2 usage or invalid input,
130 Ctrl-C. API errors print the status and request id, never a traceback.
"""

from __future__ import annotations

import argparse
import functools
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..errors import APIConnectionError, APIStatusError, IntercomError, InvalidEventError
from . import _demo, _events, _fake, _import, _outbox
from ._output import warning_line
from ._parser import add_global_options, add_rate_gate_options, new_parser

if TYPE_CHECKING:
    from .._fleet.redis_gate import RedisRateGate
    from ..client import DataEventsClient

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    """The whole parser: global options and every command family's sub-parsers."""
    parser = new_parser()
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _demo.add_commands(commands)
    _fake.add_commands(commands)
    _events.add_commands(commands)
    _import.add_commands(commands)
    _outbox.add_commands(commands)
    for name, sub in commands.choices.items():
        if name != "fake":  # the fake takes only its own options (and --token)
            add_global_options(sub, top=False)
        if name in ("send", "import"):
            add_rate_gate_options(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; the process exit code."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    if args.command == "fake":
        return _fake.run(args)
    if args.command == "demo":
        return _demo.run_demo(sys.stdout)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = functools.partial(warning_line, set())
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
    except (IntercomError, ValueError, ImportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from ..client import DataEventsClient

    gate = _rate_gate(args)
    connect = functools.partial(
        DataEventsClient, args.token, region=args.region, base_url=args.base_url, rate_gate=gate
    )
    try:
        return _dispatch(args, connect)
    finally:
        if gate is not None:
            stats = gate.stats()
            print(
                f"rate gate {gate.key}: {stats.granted} slots granted, {stats.waited} waits,"
                f" {stats.fallbacks} fallbacks to this process's own window",
                file=sys.stderr,
            )
            gate.close()


def _rate_gate(args: argparse.Namespace) -> RedisRateGate | None:
    """The fleet's gate that ``--rate-gate`` names, or None."""
    url, key = getattr(args, "rate_gate", None), getattr(args, "rate_gate_key", None)
    if url is None:
        if key is not None:
            raise InvalidEventError("--rate-gate-key", "needs --rate-gate URL")
        return None
    if key is None:
        raise InvalidEventError("--rate-gate", "needs --rate-gate-key (one key per Intercom app)")
    from .._fleet.redis_gate import RedisRateGate

    return RedisRateGate(url, key=key)


def _dispatch(args: argparse.Namespace, connect: Callable[..., DataEventsClient]) -> int:
    if args.command == "outbox":  # a client only for ``drain``: the others need no token
        return _outbox.run_outbox(args, connect, sys.stdout)
    if args.command == "import":  # its client depends on its options
        return _import.run_import(args, connect, sys.stdout)
    with connect() as client:
        return _events.run_command(args, client, sys.stdout)
