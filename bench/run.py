"""Benchmarks of intercom-events against raw requests/aiohttp and python-intercom.

Run on demand (``nox -s bench`` or ``python bench/run.py``), never in the test suite. The
fake Intercom runs in a separate process on 127.0.0.1; every comparison is a ratio of
medians measured in the same run, alternating SDK and baseline, each after a warm-up call.
Results are printed and written to ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]
USERS = [f"u{n}" for n in range(10)]
HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/json",
    "Intercom-Version": "2.14",
}
_stamp = itertools.count(1_000_000_000)  # every event unique: no de-duplication shortcuts


def body(n: int) -> dict[str, Any]:
    return {
        "event_name": "bench-event",
        "created_at": n,
        "user_id": USERS[n % len(USERS)],
        "metadata": {"order_id": n, "source": "bench"},
    }


class Fake:
    """The bundled fake in its own process."""

    def __enter__(self) -> Fake:
        users = [arg for user in USERS for arg in ("--user", user)]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "intercom_events.testing", "--port", "0", *users],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().split()[-1]
        self.token = "test-token"
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def timed(run: Callable[[], int]) -> tuple[float, float]:
    """(events per second, CPU µs per event of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    count = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return count / wall, cpu / count * 1e6


# --- sync ------------------------------------------------------------------------------------


def sdk_sync(fake: Fake, n: int) -> tuple[float, float]:
    from intercom_events import DataEventsClient

    with DataEventsClient(token=fake.token, base_url=fake.url) as client:
        client.create_data_event(**body(next(_stamp)))

        def loop() -> int:
            for _ in range(n):
                client.create_data_event(**body(next(_stamp)))
            return n

        return timed(loop)


def raw_sync(fake: Fake, n: int) -> tuple[float, float]:
    import requests

    with requests.Session() as session:
        headers = {**HEADERS, "Authorization": f"Bearer {fake.token}"}

        def post() -> None:
            data = json.dumps(body(next(_stamp)), separators=(",", ":")).encode()
            response = session.post(f"{fake.url}/events", data=data, headers=headers, timeout=20)
            assert response.status_code == 202, response.text

        post()

        def loop() -> int:
            for _ in range(n):
                post()
            return n

        return timed(loop)


def official_sync(fake: Fake, n: int) -> tuple[float, float]:
    from intercom import CreateDataEventRequestWithUserId, Intercom

    client = Intercom(token=fake.token, base_url=fake.url)

    def post() -> None:
        b = body(next(_stamp))
        client.events.create(
            request=CreateDataEventRequestWithUserId(
                user_id=b["user_id"],
                event_name=b["event_name"],
                created_at=b["created_at"],
                metadata={k: str(v) for k, v in b["metadata"].items()},
            )
        )

    post()

    def loop() -> int:
        for _ in range(n):
            post()
        return n

    return timed(loop)


# --- async -----------------------------------------------------------------------------------


def sdk_async(fake: Fake, n: int) -> tuple[float, float]:
    from intercom_events import AsyncDataEventsClient, DataEvent

    async def main() -> tuple[float, float]:
        async with AsyncDataEventsClient(token=fake.token, base_url=fake.url) as client:
            await client.create_data_event(**body(next(_stamp)))

            def events() -> Iterator[DataEvent]:
                for _ in range(n):
                    b = body(next(_stamp))
                    yield DataEvent(
                        b["event_name"],
                        user_id=b["user_id"],
                        created_at=b["created_at"],
                        metadata=b["metadata"],
                    )

            wall, cpu = time.perf_counter(), time.process_time()
            result = await client.send_data_events(events(), concurrency=32)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            assert result.accepted == n, result.failed[:3]
            return n / wall, cpu / n * 1e6

    return asyncio.run(main())


def raw_async(fake: Fake, n: int) -> tuple[float, float]:
    import aiohttp

    async def main() -> tuple[float, float]:
        headers = {**HEADERS, "Authorization": f"Bearer {fake.token}"}
        gate = asyncio.Semaphore(32)
        async with aiohttp.ClientSession() as session:

            async def post() -> None:
                async with gate:
                    data = json.dumps(body(next(_stamp)), separators=(",", ":")).encode()
                    async with session.post(
                        f"{fake.url}/events", data=data, headers=headers
                    ) as response:
                        await response.read()
                        assert response.status == 202

            await post()
            wall, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(post() for _ in range(n)))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            return n / wall, cpu / n * 1e6

    return asyncio.run(main())


def official_async(fake: Fake, n: int) -> tuple[float, float]:
    from intercom import AsyncIntercom, CreateDataEventRequestWithUserId

    async def main() -> tuple[float, float]:
        client = AsyncIntercom(token=fake.token, base_url=fake.url)
        gate = asyncio.Semaphore(32)

        async def post() -> None:
            async with gate:
                b = body(next(_stamp))
                await client.events.create(
                    request=CreateDataEventRequestWithUserId(
                        user_id=b["user_id"],
                        event_name=b["event_name"],
                        created_at=b["created_at"],
                        metadata={k: str(v) for k, v in b["metadata"].items()},
                    )
                )

        await post()
        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(post() for _ in range(n)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return n / wall, cpu / n * 1e6

    return asyncio.run(main())


# --- import time and memory ------------------------------------------------------------------

IMPORT_SDK = (
    "import time, sys; t = time.perf_counter(); import intercom_events; "
    "intercom_events.DataEventsClient(token='x'); "
    "print(time.perf_counter() - t, 'aiohttp' in sys.modules)"
)
IMPORT_OFFICIAL = (
    "import time; t = time.perf_counter(); from intercom import Intercom; Intercom(token='x'); "
    "print(time.perf_counter() - t, False)"
)
RSS = """
import asyncio, resource, sys
from intercom_events import AsyncDataEventsClient, DataEvent
async def main():
    async with AsyncDataEventsClient(token="test-token", base_url=sys.argv[1]) as client:
        events = (DataEvent("rss", user_id="u%d" % (n % 10), created_at=2_000_000_000 + n,
                            metadata={"n": n}) for n in range(int(sys.argv[2])))
        result = await client.send_data_events(events, concurrency=32)
        assert result.accepted == result.total, result.failed[:3]
asyncio.run(main())
try:  # the peak of this process image; ru_maxrss on Linux also counts the parent's at fork
    status = open("/proc/self/status").read()
    print(int(status.split("VmHWM:")[1].split()[0]) / 1024)
except (OSError, IndexError):
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def import_time(code: str) -> tuple[float, bool]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, aiohttp = out.stdout.split()
    return float(seconds), aiohttp == "True"


def peak_rss(fake: Fake, n: int) -> float:
    out = subprocess.run(
        [sys.executable, "-c", RSS, fake.url, str(n)], capture_output=True, text=True, check=True
    )
    return float(out.stdout.split()[-1])


# --- the run ---------------------------------------------------------------------------------


def alternate(runs: int, **benches: Callable[[], tuple[float, float]]) -> dict[str, list[Any]]:
    results: dict[str, list[Any]] = {name: [] for name in benches}
    for _ in range(runs):
        for name, bench in benches.items():
            results[name].append(bench())
    return results


def median(values: list[tuple[float, float]], index: int) -> float:
    return statistics.median(value[index] for value in values)


def _cpu(results: dict[str, list[Any]]) -> str:
    sdk, raw = median(results["sdk"], 1), median(results["raw"], 1)
    return f"client CPU {sdk:.0f} µs vs raw {raw:.0f} µs"


def machine() -> str:
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor() or "unknown CPU",
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    versions = ", ".join(
        f"{name} {_version(name)}"
        for name in ("intercom-events", "requests", "aiohttp", "python-intercom", "httpx")
    )
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()} on "
        f"{platform.system()}; {versions}"
    )


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sync-events", type=int, default=1500)
    parser.add_argument("--async-events", type=int, default=10_000)
    parser.add_argument("--official-events", type=int, default=1500)
    parser.add_argument("--rss-events", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="small numbers, for a smoke run")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "performance.md")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.sync_events, args.async_events = 1, 100, 500
        args.official_events, args.rss_events = 100, 2000
    try:
        import intercom  # noqa: F401

        official = True
    except ImportError:
        official = False
        print("python-intercom is not installed: its rows are left out (nox -s bench has it)")
    rows: list[tuple[str, str, str]] = []
    with Fake() as fake:
        print("sync create loop ...", flush=True)
        sync = alternate(
            args.runs,
            sdk=lambda: sdk_sync(fake, args.sync_events),
            raw=lambda: raw_sync(fake, args.sync_events),
        )
        s_sdk, s_raw = median(sync["sdk"], 0), median(sync["raw"], 0)
        overhead = median(sync["sdk"], 1) - median(sync["raw"], 1)
        rows += [
            ("sync create loop, raw requests", f"{s_raw:,.0f} events/s", ""),
            (
                "sync create loop, intercom-events",
                f"{s_sdk:,.0f} events/s",
                f"{s_sdk / s_raw:.2f} x raw (target ≥ 0.90)",
            ),
            (
                "SDK's own CPU per event (sync)",
                f"{overhead:.0f} µs",
                _cpu(sync),
            ),
        ]
        print("async bulk send ...", flush=True)
        bulk = alternate(
            args.runs,
            sdk=lambda: sdk_async(fake, args.async_events),
            raw=lambda: raw_async(fake, args.async_events),
        )
        a_sdk, a_raw = median(bulk["sdk"], 0), median(bulk["raw"], 0)
        rows += [
            ("async, raw aiohttp (32 in flight)", f"{a_raw:,.0f} events/s", ""),
            (
                "async send_data_events (concurrency 32)",
                f"{a_sdk:,.0f} events/s",
                f"{a_sdk / a_raw:.2f} x raw (target ≥ 0.85)",
            ),
            (
                "SDK's own CPU per event (async)",
                f"{median(bulk['sdk'], 1) - median(bulk['raw'], 1):.0f} µs",
                _cpu(bulk),
            ),
        ]
        if official:
            print("python-intercom ...", flush=True)
            theirs = alternate(
                args.runs,
                sync=lambda: official_sync(fake, args.official_events),
                async_=lambda: official_async(fake, args.official_events),
            )
            o_sync, o_async = median(theirs["sync"], 0), median(theirs["async_"], 0)
            rows += [
                (
                    "python-intercom sync loop",
                    f"{o_sync:,.0f} events/s",
                    f"intercom-events sync: {s_sdk / o_sync:.2f}x",
                ),
                (
                    "python-intercom AsyncIntercom (32 in flight)",
                    f"{o_async:,.0f} events/s",
                    f"intercom-events async bulk: {a_sdk / o_async:.1f} x (expect ≥ 10)",
                ),
            ]
        print("import + construct ...", flush=True)
        ours, theirs_t, aiohttp_loaded = [], [], False
        for _ in range(7):
            seconds, loaded = import_time(IMPORT_SDK)
            ours.append(seconds)
            aiohttp_loaded |= loaded
            if official:
                theirs_t.append(import_time(IMPORT_OFFICIAL)[0])
        mine = statistics.median(ours) * 1000
        note = "aiohttp imported!" if aiohttp_loaded else "aiohttp not imported"
        if official:
            other = statistics.median(theirs_t) * 1000
            rows.append(
                (
                    "import + construct sync client",
                    f"{mine:.0f} ms",
                    f"python-intercom {other:.0f} ms: {mine / other:.2f} x (target ≤ 0.5); " + note,
                )
            )
        else:
            rows.append(("import + construct sync client", f"{mine:.0f} ms", note))
        print("peak RSS ...", flush=True)
        rss = peak_rss(fake, args.rss_events)
        rows.append(
            (
                f"peak RSS, {args.rss_events:,}-event async bulk send",
                f"{rss:.0f} MB",
                "target ≤ 64 MB",
            )
        )
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    print("\n" + table)
    args.output.write_text(
        REPORT.format(
            machine=machine(),
            table=table,
            runs=args.runs,
            date=time.strftime("%Y-%m-%d"),
            sync=args.sync_events,
            bulk=args.async_events,
            official=args.official_events,
        )
    )
    print(f"\nwritten to {args.output}")
    return 0


REPORT = """# Performance

Measured by `bench/run.py` (`nox -s bench` installs python-intercom beside it) on {date}, on
{machine}.

| measurement | result | comparison |
|---|---|---|
{table}

## Method

- The bundled fake Intercom serves in a separate process on 127.0.0.1, so client and server
  share this machine's cores: absolute numbers say more about the machine than about the
  libraries; the ratios, measured in the same run, are what to compare.
- Each figure is the median of {runs} runs, SDK and baseline alternating, each run after a
  warm-up call (so imports, session creation and the first connection are not timed). Every
  event is unique, so the server's de-duplication never shortcuts a request.
- Sync: {sync} sequential `create_data_event` calls against a `requests.Session` posting the
  same JSON bodies with the same headers. Async: `send_data_events` of {bulk} events with
  `concurrency=32` against raw aiohttp with `asyncio.Semaphore(32)` and `gather`.
  python-intercom: {official} events through `client.events.create(...)` (metadata as strings,
  the only type its request model takes), sync and `AsyncIntercom` with 32 in flight.
- "SDK's own CPU per event" is the client process's CPU time per event minus the raw
  baseline's: the cost of validation, building the request, the retry and rate-limit
  bookkeeping and decoding.
- Import time: a fresh interpreter importing the package and constructing the sync client,
  median of 7, against `from intercom import Intercom; Intercom(token=...)`.
- Peak RSS: the whole process's high-water mark (`VmHWM` in `/proc/self/status`; not
  `ru_maxrss`, which on Linux also counts the benchmark runner that forked it) after streaming
  the events from a generator.
"""


if __name__ == "__main__":
    raise SystemExit(main())
