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

from ._options import DEFAULT_TOKEN, build_parser


async def _serve(args: argparse.Namespace) -> None:
    from ._server import FakeIntercom

    if args.rate_limit is not None and args.rate_limit < 1:
        raise ValueError("--rate-limit must be >= 1")
    token = getattr(args, "token", None) or DEFAULT_TOKEN
    fake = FakeIntercom(
        token=token, rate_limit=args.rate_limit, seed=args.seed, port=args.port, window=args.window
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
    return serve(build_parser(prog).parse_args(argv))


def serve(args: argparse.Namespace) -> int:
    """Run the fake with parsed options until interrupted; the process exit code."""
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        pass
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
