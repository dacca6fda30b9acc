"""Benchmark of the fleet rate gate: what ``RedisRateGate`` adds to each request.

Run on demand (``python bench/gate.py``), never in the test suite. It starts its own
``redis-server`` on a free 127.0.0.1 port (and stops it when done) and the bundled fake Intercom
in a separate process, answering as fast as it can with a rate limit far too high to be reached,
so no gate ever waits and only the gates' own cost is measured. Measured, the in-process gate
(the default) and the Redis gate alternating round by round, each after a warm-up:

1. one gate's ``reserve()`` + ``record()`` pair (and the async pair), no HTTP at all;
2. sequential ``create_data_event`` round trips, sync and async client, with each gate;
3. ``send_data_events(concurrency=8)`` throughput with each gate.

Results are printed and written into their own section of ``docs/performance.md`` (the rest of
the page is left as it is).
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import gc
import itertools
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from track import (
    ROOT,
    TOKEN,
    USERS,
    Run,
    Server,
    _version,
    bulk_async,
    bulk_sync,
    event,
    machine,
)

START, END = "<!-- bench/gate.py: start -->", "<!-- bench/gate.py: end -->"
LIMIT = 10_000_000
"""The fake's allowance per 10 s window: sent in every response's headers, never reached."""
SLOW_MS = 50
"""``RedisRateGate``'s default ``slow``: a command slower than this falls back to the local gate."""
INTERCOM_MS = 100
"""A typical round trip to Intercom's API, for scale."""
WARM_PAIRS, WARM_CALLS = 200, 20

_serial = itertools.count(1)  # every event and every Redis key unique


# --- the servers -------------------------------------------------------------------------------


class RedisServer:
    """A ``redis-server`` of our own on a free loopback port, nothing saved to disk."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit(
                "bench/gate.py needs the redis-server binary on PATH"
                " (e.g. apt-get install redis-server)"
            )
        self.binary = binary
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()

    def start(self) -> str:
        import redis

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.process = subprocess.Popen(
            [
                *(self.binary, "--port", str(port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--daemonize", "no"),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.url = url = f"redis://127.0.0.1:{port}/0"
        deadline = time.monotonic() + 10
        while True:
            if self.process.poll() is not None:
                self.log.seek(0)
                output = self.log.read().decode(errors="replace").strip()
                raise SystemExit(f"redis-server exited ({self.process.returncode}):\n{output}")
            try:
                with redis.Redis.from_url(url, socket_connect_timeout=0.2) as client:
                    client.ping()
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"redis-server did not answer on port {port}") from None
                time.sleep(0.05)
            else:
                return url

    def version(self) -> str:
        out = subprocess.run([self.binary, "--version"], capture_output=True, text=True).stdout
        words = dict(word.split("=", 1) for word in out.split() if "=" in word)
        return words.get("v", "unknown")

    def script_us(self) -> float:
        """µs Redis spent per EVALSHA so far, by its own count."""
        import redis

        with redis.Redis.from_url(self.url) as client:
            info = client.info("commandstats")
        return float(info.get("cmdstat_evalsha", {}).get("usec_per_call", 0.0))

    def stop(self) -> None:
        """SIGTERM to the PID we started, then wait (SIGKILL if it will not go)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


def fake_server() -> Server:
    users = [arg for user in USERS for arg in ("--user", user)]
    return Server(
        ["-m", "intercom_events.testing", "--port", "0", "--rate-limit", str(LIMIT), *users]
    )


# --- the gates ---------------------------------------------------------------------------------


class Gates:
    """Makes the gates and keeps what every Redis gate's ``stats()`` said, and any waits.

    The clients' Redis gates share one key, as a fleet's long-lived window: ``prime`` sends
    requests through it until two answers' ``Date`` differ (until then the store knows the
    server's clock only to the second and holds back each window's last second), so no timed
    request waits for that. The gate-alone pairs, with their made-up headers, get a key each.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.key = f"intercom-events:bench-gate:{os.getpid()}"
        self.granted = self.waited = self.fallbacks = 0
        self.waits = {"local": 0, "redis": 0}  # reserves answered "wait" in the timed pairs
        self.priming = (0, 0.0)  # requests and seconds

    def make(self, kind: str, key: str | None = None) -> Any:
        from intercom_events import RedisRateGate
        from intercom_events._transport.gate import LocalRateGate

        if kind == "local":
            return LocalRateGate()
        return RedisRateGate(self.url, key=key or f"{self.key}:{next(_serial)}")

    def client_gate(self, kind: str) -> Any:
        """What a client is given: None (its own LocalRateGate) or a RedisRateGate on the key."""
        return None if kind == "local" else self.make(kind, self.key)

    def prime(self, fake: Server) -> None:
        """Requests through the shared key until two answers' Dates differ (1 to 2 s)."""
        from intercom_events import DataEventsClient

        gate = self.make("redis", self.key)
        started = time.time()
        count = 0
        try:
            with DataEventsClient(token=TOKEN, base_url=fake.url, rate_gate=gate) as client:
                while int(time.time()) < int(started) + 2:  # answers dated in 2 seconds at least
                    client.create_data_event(**event(next(_serial)))
                    count += 1
        finally:
            gate.close()
        self.priming = (count, time.time() - started)

    def done(self, gate: Any, kind: str, waits: int = 0) -> None:
        self.waits[kind] += waits
        if kind == "redis":
            stats = gate.stats()
            self.granted += stats.granted
            self.waited += stats.waited
            self.fallbacks += stats.fallbacks


def headers(now: float) -> Any:
    """A response's headers as Intercom sends them: a large allowance, reset 10 s ahead."""
    from intercom_events._core.headers import Headers

    return Headers(
        {
            "Content-Type": "application/json; charset=utf-8",
            "Date": email.utils.formatdate(now, usegmt=True),
            "X-RateLimit-Limit": "1000000",
            "X-RateLimit-Remaining": "990000",
            "X-RateLimit-Reset": str(int(now) + 10),
        }
    )


# --- 1. the gate alone -------------------------------------------------------------------------


def pairs_sync(gates: Gates, kind: str, n: int) -> Run:
    """n ``reserve()`` + ``record()`` pairs, each timed on its own."""
    gate = gates.make(kind)
    seen = headers(time.time())
    clock, now = time.perf_counter_ns, time.time
    waits = 0
    try:
        for _ in range(WARM_PAIRS):  # the connection, the script loaded
            gate.reserve(now())
            gate.record(seen, now())
        gc.collect()
        samples: list[int] = []
        for _ in range(n):
            before = clock()
            wait = gate.reserve(now())
            gate.record(seen, now())
            samples.append(clock() - before)
            waits += wait > 0
    finally:
        gates.done(gate, kind, waits)
        if kind == "redis":
            gate.close()
    return Run(samples, 1.0, n)


def pairs_async(gates: Gates, kind: str, n: int) -> Run:
    """``pairs_sync`` with ``await reserve_async()`` + ``await record_async()``."""

    async def main() -> Run:
        gate = gates.make(kind)
        seen = headers(time.time())
        clock, now = time.perf_counter_ns, time.time
        waits = 0
        try:
            for _ in range(WARM_PAIRS):
                await gate.reserve_async(now())
                await gate.record_async(seen, now())
            gc.collect()
            samples: list[int] = []
            for _ in range(n):
                before = clock()
                wait = await gate.reserve_async(now())
                await gate.record_async(seen, now())
                samples.append(clock() - before)
                waits += wait > 0
        finally:
            gates.done(gate, kind, waits)
            if kind == "redis":
                await gate.aclose()
        return Run(samples, 1.0, n)

    return asyncio.run(main())


# --- 2. round trips ----------------------------------------------------------------------------


def calls_sync(gates: Gates, fake: Server, kind: str, n: int) -> Run:
    """n sequential ``create_data_event`` calls on the sync client, each timed."""
    from intercom_events import DataEventsClient

    gate = gates.client_gate(kind)
    clock = time.perf_counter_ns
    try:
        with DataEventsClient(token=TOKEN, base_url=fake.url, rate_gate=gate) as client:
            for _ in range(WARM_CALLS):
                client.create_data_event(**event(next(_serial)))
            gc.collect()
            samples: list[int] = []
            for _ in range(n):
                fields = event(next(_serial))
                before = clock()
                client.create_data_event(**fields)
                samples.append(clock() - before)
    finally:
        gates.done(gate, kind)
        if gate is not None:
            gate.close()
    return Run(samples, 1.0, n)


def calls_async(gates: Gates, fake: Server, kind: str, n: int) -> Run:
    """``calls_sync`` on the async client, one call awaited at a time."""
    from intercom_events import AsyncDataEventsClient

    async def main() -> Run:
        gate = gates.client_gate(kind)
        clock = time.perf_counter_ns
        try:
            async with AsyncDataEventsClient(
                token=TOKEN, base_url=fake.url, rate_gate=gate
            ) as client:
                for _ in range(WARM_CALLS):
                    await client.create_data_event(**event(next(_serial)))
                gc.collect()
                samples: list[int] = []
                for _ in range(n):
                    fields = event(next(_serial))
                    before = clock()
                    await client.create_data_event(**fields)
                    samples.append(clock() - before)
        finally:
            gates.done(gate, kind)
            if gate is not None:
                await gate.aclose()
        return Run(samples, 1.0, n)

    return asyncio.run(main())


# --- 3. throughput -----------------------------------------------------------------------------


def bulk_rate(
    gates: Gates, fake: Server, kind: str, client: str, n: int, concurrency: int
) -> float:
    """``send_data_events`` (track.py's run) with this kind of gate: events per second."""
    gate = gates.client_gate(kind)
    try:
        if client == "sync":
            return bulk_sync(fake, n, concurrency, rate_gate=gate)
        return bulk_async(fake, n, concurrency, rate_gate=gate)  # closes the gate in its loop
    finally:
        gates.done(gate, kind)
        if gate is not None:
            gate.close()


# --- the run -----------------------------------------------------------------------------------


def med(runs: list[Run], q: float) -> float:
    """The median over rounds of each round's q-quantile, in µs."""
    return statistics.median(run.p(q) for run in runs)


def table(rows: list[tuple[str, ...]]) -> str:
    return "\n".join(f"| {' | '.join(row)} |" for row in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds (each gate alternating)")
    parser.add_argument("--pairs", type=int, default=5000, help="timed gate pairs per round")
    parser.add_argument("--calls", type=int, default=1000, help="timed round trips per round")
    parser.add_argument("--events", type=int, default=2000, help="events per bulk send")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="small numbers, for a smoke run")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.pairs, args.calls, args.events = 1, 1000, 100, 300
    try:
        import redis as _redis  # noqa: F401
    except ImportError:
        print("pip install -e '.[redis]' (RedisRateGate needs the redis package)")
        return 2

    kinds = ("local", "redis")
    pairs: dict[tuple[str, str], list[Run]] = {(m, k): [] for m in ("sync", "async") for k in kinds}
    calls: dict[tuple[str, str], list[Run]] = {(m, k): [] for m in ("sync", "async") for k in kinds}
    bulk: dict[tuple[str, str], list[float]] = {
        (m, k): [] for m in ("sync", "async") for k in kinds
    }
    began = time.perf_counter()
    server = RedisServer()
    try:
        url = server.start()
        gates = Gates(url)
        with fake_server() as fake:
            gates.prime(fake)
            for round_ in range(1, args.runs + 1):
                print(f"round {round_}/{args.runs} ...", flush=True)
                # the order of the gates swaps each round: neither always runs first
                order = kinds if round_ % 2 else kinds[::-1]
                for kind in order:
                    pairs["sync", kind].append(pairs_sync(gates, kind, args.pairs))
                for kind in order:
                    pairs["async", kind].append(pairs_async(gates, kind, args.pairs))
                for kind in order:
                    calls["sync", kind].append(calls_sync(gates, fake, kind, args.calls))
                for kind in order:
                    calls["async", kind].append(calls_async(gates, fake, kind, args.calls))
                for client in ("sync", "async"):
                    for kind in order:
                        bulk[client, kind].append(
                            bulk_rate(gates, fake, kind, client, args.events, args.concurrency)
                        )
        if fake.process.stdout is not None:  # track.Server leaves its pipe open
            fake.process.stdout.close()
        redis_version, server_us = server.version(), server.script_us()
    finally:
        server.stop()
    seconds = time.perf_counter() - began

    # 1. the gate alone, in µs
    p50 = {key: med(runs, 0.5) for key, runs in pairs.items()}
    p99 = {key: med(runs, 0.99) for key, runs in pairs.items()}
    worst = {key: max(max(run.samples) for run in runs) / 1000 for key, runs in pairs.items()}
    names = {"local": "`LocalRateGate` (default)", "redis": "`RedisRateGate`"}
    how = {"sync": "`reserve()` + `record()`", "async": "`reserve_async()` + `record_async()`"}
    gate_rows = [("gate", "pair", "p50 µs", "p99 µs", "slowest µs", "p50 added", "p99 added")]
    gate_rows.append(("---",) * len(gate_rows[0]))
    for mode in ("sync", "async"):
        for kind in kinds:
            added = kind == "redis"
            key, base = (mode, kind), (mode, "local")
            gate_rows.append(
                (
                    names[kind],
                    how[mode],
                    f"{p50[key]:,.1f}",
                    f"{p99[key]:,.1f}",
                    f"{worst[key]:,.0f}",
                    f"+{p50[key] - p50[base]:,.1f} µs" if added else "",
                    f"+{p99[key] - p99[base]:,.1f} µs" if added else "",
                )
            )

    # 2. round trips, in ms
    c50 = {key: med(runs, 0.5) / 1000 for key, runs in calls.items()}
    c99 = {key: med(runs, 0.99) / 1000 for key, runs in calls.items()}
    call_rows = [("client", "gate", "p50 ms", "p99 ms", "p50 vs local", "p99 vs local")]
    call_rows.append(("---",) * len(call_rows[0]))
    for mode in ("sync", "async"):
        for kind in kinds:
            key, base = (mode, kind), (mode, "local")
            added = kind == "redis"
            call_rows.append(
                (
                    "`DataEventsClient`" if mode == "sync" else "`AsyncDataEventsClient`",
                    names[kind],
                    f"{c50[key]:.3f}",
                    f"{c99[key]:.3f}",
                    f"{c50[key] / c50[base]:.2f} x (+{(c50[key] - c50[base]) * 1000:,.0f} µs)"
                    if added
                    else "",
                    f"{c99[key] / c99[base]:.2f} x" if added else "",
                )
            )

    # 3. throughput, events/s
    rate = {key: statistics.median(values) for key, values in bulk.items()}
    bulk_rows = [("client", "gate", "events/s", "vs local")]
    bulk_rows.append(("---",) * len(bulk_rows[0]))
    for mode in ("sync", "async"):
        for kind in kinds:
            key, base = (mode, kind), (mode, "local")
            bulk_rows.append(
                (
                    "`DataEventsClient`" if mode == "sync" else "`AsyncDataEventsClient`",
                    names[kind],
                    f"{rate[key]:,.0f}",
                    f"{rate[key] / rate[base]:.2f} x" if kind == "redis" else "",
                )
            )

    added_sync = p50["sync", "redis"] - p50["sync", "local"]
    added_async = p50["async", "redis"] - p50["async", "local"]
    slowest = max(worst["sync", "redis"], worst["async", "redis"])
    stats = (
        f"`RedisRateGate.stats()` summed over every gate of the run: granted {gates.granted:,},"
        f" waited {gates.waited:,}, fallbacks {gates.fallbacks:,}"
        f"; timed reserves that said to wait: {gates.waits['local']:,} local,"
        f" {gates.waits['redis']:,} Redis."
    )
    e2e_sync = (c50["sync", "redis"] - c50["sync", "local"]) * 1000
    e2e_async = (c50["async", "redis"] - c50["async", "local"]) * 1000
    per_event = {mode: 1e6 / rate[mode, "redis"] - 1e6 / rate[mode, "local"] for mode in how}
    largest = max(added_sync, added_async, e2e_sync, e2e_async)
    reading = (
        f"The Redis gate adds about {added_sync:,.0f} µs per request on the sync path and"
        f" {added_async:,.0f} µs on the async path (p50 of the gate alone, against"
        f" {p50['sync', 'local']:,.1f} µs for the in-process gate): two Redis round trips on"
        f" loopback, one EVALSHA for the reserve and one for the record, of which Redis itself"
        f" spends about {server_us:.0f} µs running the script (`INFO commandstats`); the rest is"
        f" redis-py, the socket and the wake-ups. End to end against the fake, which answers in"
        f" {c50['sync', 'local']:.2f} ms (sync) and {c50['async', 'local']:.2f} ms (async), a"
        f" call takes {e2e_sync:+,.0f} µs ({c50['sync', 'redis'] / c50['sync', 'local']:.2f} x)"
        f" and {e2e_async:+,.0f} µs ({c50['async', 'redis'] / c50['async', 'local']:.2f} x)"
        f" with the Redis gate. Against Intercom's ~{INTERCOM_MS} ms round trips, even the"
        f" largest of these is about {largest / (INTERCOM_MS * 1000) * 100:.2f} % of a request."
        f" In bulk the gate's cost is mostly this process's CPU (redis-py's), which requests in"
        f" flight do not hide:"
        f" `send_data_events` runs at {rate['sync', 'redis'] / rate['sync', 'local']:.2f} x"
        f" (sync) and {rate['async', 'redis'] / rate['async', 'local']:.2f} x (async) the local"
        f" gate's rate here, about {per_event['sync']:+,.0f} µs and {per_event['async']:+,.0f} µs"
        f" per event. The slowest Redis pair of the run took {slowest / 1000:,.1f} ms"
        f" {'(over' if slowest > SLOW_MS * 1000 else '(under'} the {SLOW_MS} ms after which a"
        f" command falls back); the Redis gates fell back {gates.fallbacks} times and waited"
        f" {gates.waited} times. A Redis on another host adds twice its network round trip to"
        " every request on top of these figures."
    )
    stats, reading = textwrap.fill(stats, 96), textwrap.fill(reading, 96)
    tables = "\n\n".join(table(rows) for rows in (gate_rows, call_rows, bulk_rows))
    print("\n" + tables + "\n\n" + stats + "\n\n" + reading)
    print(f"\n{seconds:.0f} s")
    if args.no_write:
        return 0
    section = REPORT.format(
        start=START,
        end=END,
        date=time.strftime("%Y-%m-%d"),
        machine=machine().split(", SQLite")[0],  # track.py's line, less its SQLite and SDKs
        versions=", ".join(
            f"{name} {_version(name)}"
            for name in ("intercom-events", "redis", "requests", "aiohttp")
        ),
        redis_server=redis_version,
        seconds=seconds,
        runs=args.runs,
        pairs=args.pairs,
        calls=args.calls,
        events=args.events,
        concurrency=args.concurrency,
        limit=f"{LIMIT:,}",
        gates=table(gate_rows),
        calls_table=table(call_rows),
        bulk=table(bulk_rows),
        stats=stats,
        reading=reading,
        slow=SLOW_MS,
        primed=gates.priming[0],
        primed_s=gates.priming[1],
    )
    write_section(args.output, section, START, END)
    print(f"written to {args.output}")
    return 0


def write_section(path: Path, section: str, start: str, end: str) -> None:
    """Put ``section`` between ``start`` and ``end`` in ``path``, or at its end if absent."""
    text = path.read_text() if path.exists() else "# Performance\n"
    if start in text and end in text:
        before, after = text.split(start, 1)
        text = before + section.strip() + after.split(end, 1)[1]
    else:
        text = f"{text.rstrip()}\n\n{section.strip()}\n"
    path.write_text(text)


REPORT = """{start}
## Fleet rate gate: the cost of `RedisRateGate` per request

Measured by `bench/gate.py` on {date}, on {machine}; {versions}, redis-server {redis_server}.
The benchmark starts its own `redis-server` on a free loopback port (nothing saved to disk)
and the bundled fake Intercom in its own process, answering as fast as it can with a limit of
{limit} requests per 10 s window: every response carries `X-RateLimit-*` headers, so both gates
do their full work, and no gate ever has to wait. What it measures is the gate's own cost:
the in-process `LocalRateGate` every client uses by default against a `RedisRateGate` (one
EVALSHA of its Lua script for each `reserve` and for each `record`). To reproduce:

```sh
pip install -e '.[redis]'       # and a redis-server binary on PATH
python bench/gate.py            # about {seconds:.0f} s here; --quick for a smoke run
```

The gate alone, no HTTP: one `reserve` + `record` pair, with a response's headers (limit
1,000,000, reset 10 s ahead, `Date`), {pairs} pairs per round, the median over {runs} rounds of
each round's p50 and p99 (the slowest: the slowest pair of any round):

{gates}

Round trips to the fake: {calls} sequential `create_data_event` calls per round, one at a
time, each client with each gate; the median over {runs} rounds of each round's p50 and p99:

{calls_table}

Throughput: `send_data_events` of {events} events with `concurrency={concurrency}`, events per
second from the first event to the result, the median over {runs} rounds:

{bulk}

{stats}

{reading}

Method: the gates alternate within each round (which goes first swaps from round to round);
each gate and each client is new for its measurement and makes warm-up calls first (the
connection opened, the script loaded). Each gate-alone Redis gate has a key of its own; the
clients' Redis gates share one key, as a fleet's long-lived window does, primed before the
first round ({primed} requests in {primed_s:.1f} s) until two answers' `Date` differ: until
then the store knows the server's clock only to the second and holds back each window's last
second, a start-up cost rather than a per-request one, not timed here. One
`perf_counter_ns()` pair surrounds each timed pair or call; the garbage collector stays on.
The Redis gate runs with its defaults: a command slower than {slow} ms would send it to the
in-process window for 10 s (counted in `fallbacks`). Client, fake and Redis share this
machine's cores, so absolute figures depend on the machine; compare the differences and
ratios, measured in the same run. The loopback round trip depends on the scheduler too: on
this 2-core VM, with the client and Redis on different cores (as they usually run) a Redis
pair costs about twice what it does with everything pinned to one core
(`taskset -c 0 python bench/gate.py`), where a round trip needs no cross-core wake-up.
{end}
"""


if __name__ == "__main__":
    raise SystemExit(main())
