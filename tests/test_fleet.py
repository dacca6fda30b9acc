"""The fleet's rate gate: the core's rules, then ``RedisRateGate`` on a real ``redis-server``.

The window tests drive two gates (two "processes") by hand with made-up headers, on clocks
that disagree; the client tests send real HTTP to the fake through real Redis, on both
executors; the fault tests kill Redis or make it sleep mid-run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest
import redis
import redis.asyncio

from intercom_events import (
    AsyncDataEventsClient,
    DataEvent,
    DataEventsClient,
    GateStats,
    InvalidEventError,
    MemoryOutbox,
    RedisRateGate,
)
from intercom_events._core.fleet import Breaker, answer, report
from intercom_events._core.headers import Headers
from intercom_events._core.ratelimit import MARGIN, PROBE_POLL
from intercom_events.testing import FakeIntercom

from .conftest import API_KINDS, RECENT, TOKEN, make_client
from .redis_server import RedisServer

T = 1_800_000_000
"""A server time for hand-driven windows."""


def window_headers(*, remaining: int, reset: int, date: float, limit: int = 5) -> Headers:
    moment = datetime.fromtimestamp(date, UTC)
    return Headers(
        {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
            "Date": format_datetime(moment, usegmt=True),
        }
    )


# -- the core's rules (no Redis) -------------------------------------------------------------


def test_replies_decode_to_waits_and_anything_else_is_refused() -> None:
    assert answer([0, 0]) == 0
    assert answer([1, 0]) == PROBE_POLL
    assert answer([2, 1500]) == pytest.approx(1.5 + MARGIN)
    for bad in (None, "OK", b"OK", [2], [3, 0], [2, -1], [0, 0, 0], ["x", 0], [True, 0]):
        with pytest.raises(ValueError, match="not a gate reply"):
            answer(bad)


def test_report_carries_the_window_or_says_there_is_no_limit() -> None:
    assert report(None) is None
    seen = report(window_headers(remaining=3, reset=T + 10, date=T))
    assert seen is not None
    assert (seen.limit, seen.used, seen.reset, seen.date) == (5, 2, T + 10, T)
    assert seen.args() == [5, 2, T + 10, f"{T}.000", "2"]
    unlimited = report(Headers({"Date": "Thu, 01 Jan 2026 00:00:00 GMT"}))
    assert unlimited is not None
    assert (unlimited.limit, unlimited.date) == (0, 1767225600)
    undated = report(Headers({}))
    assert undated is not None
    assert undated.args()[3] == ""


def test_breaker_opens_once_per_outage_retries_and_closes() -> None:
    breaker = Breaker(slow=0.05, retry_every=10.0)
    assert breaker.use_store(0.0)
    assert breaker.after(0.01, 0.0) is None
    assert breaker.after(None, 1.0) == "down"  # a failure: say so once
    assert not breaker.use_store(5.0)
    assert breaker.use_store(11.0)
    assert breaker.after(None, 11.0) is None  # still down: no second warning
    assert breaker.after(0.2, 30.0) is None  # answered, but too slow: still down
    assert breaker.after(0.01, 40.0) == "back"
    assert breaker.after(0.3, 41.0) == "down"  # a slow answer opens it too
    assert breaker.fallbacks == 2
    assert (breaker.counted(0.0), breaker.counted(1.5)) == (0.0, 1.5)
    assert (breaker.granted, breaker.waited) == (1, 1)


# -- RedisRateGate against a real redis-server -----------------------------------------------

pytestmark_redis = pytest.mark.processes


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def key() -> str:
    return f"intercom-events:test-{uuid.uuid4().hex[:12]}"


def gates(server: RedisServer, key: str, count: int = 2) -> list[RedisRateGate]:
    return [RedisRateGate(server.url, key=key) for _ in range(count)]


def server_time() -> int:
    """A server clock 5,000 s behind this machine's (and Redis's): hosts' clocks never count."""
    return int(time.time()) - 5000


@pytestmark_redis
def test_two_gates_take_slots_from_one_window(redis_server: RedisServer, key: str) -> None:
    a, b = gates(redis_server, key)
    s = server_time()
    assert a.reserve(0.0) == 0  # the fleet's first request goes alone...
    assert b.reserve(0.0) == PROBE_POLL  # ...even from another process
    a.record(window_headers(remaining=3, reset=s + 10, date=s), 0.0)  # 2 used of 5
    # The `now` each host passes (its own clock) plays no part: the server's clock does.
    grants = [a.reserve(1e9), b.reserve(-1e9), a.reserve(0.0), b.reserve(5.0)]
    assert grants[:3] == [0, 0, 0]
    assert 9 < grants[3] <= 10 + MARGIN  # the window is spent fleet-wide until s + 10
    assert a.stats() == GateStats(granted=3, waited=0, fallbacks=0)
    assert b.stats() == GateStats(granted=1, waited=2, fallbacks=0)
    assert a.latest is not None
    assert (a.latest.limit, a.latest.remaining) == (5, 3)
    a.close()
    b.close()


@pytestmark_redis
def test_the_window_follows_the_server_clock(redis_server: RedisServer, key: str) -> None:
    a, b = gates(redis_server, key)
    s = server_time()
    a.reserve(0.0)
    a.record(window_headers(remaining=4, reset=s + 10, date=s), 0.0)
    assert [b.reserve(0.0) for _ in range(4)] == [0] * 4
    assert 9 < a.reserve(0.0) <= 10 + MARGIN
    # An answer dated s + 10: the server's clock has reached the reset (no one slept).
    b.record(window_headers(remaining=0, reset=s + 10, date=s + 10), 0.0)
    assert [a.reserve(0.0) for _ in range(5)] == [0] * 5  # the next window's allowance
    assert b.reserve(0.0) == PROBE_POLL  # spent before any answer named the new window
    # A late answer from the ended window reopens nothing.
    b.record(window_headers(remaining=4, reset=s + 10, date=s + 9), 0.0)
    assert b.reserve(0.0) == PROBE_POLL
    a.record(window_headers(remaining=0, reset=s + 20, date=s + 10), 0.0)
    assert 9 < b.reserve(0.0) <= 10 + MARGIN
    # The server's clock stepped back 100 s: believed (a reading far below the best one).
    a.record(window_headers(remaining=0, reset=s + 20, date=s - 90), 0.0)
    assert 109 < a.reserve(0.0) <= 110 + MARGIN
    a.close()
    b.close()


@pytestmark_redis
def test_no_limit_reported_opens_the_gate_fleet_wide(redis_server: RedisServer, key: str) -> None:
    a, b = gates(redis_server, key)
    assert a.reserve(0.0) == 0
    a.record(Headers({"X-Request-Id": "x"}), 0.1)
    assert [gate.reserve(0.2) for gate in (a, b) * 20] == [0] * 40
    a.close()
    b.close()


@pytestmark_redis
@pytest.mark.parametrize("api_kind", API_KINDS)
async def test_clients_sharing_a_key_draw_no_429(
    api_kind: str, redis_server: RedisServer, key: str
) -> None:
    with FakeIntercom(token=TOKEN, rate_limit=10, window=1) as fake:
        users = [f"u{i}" for i in range(45)]
        for user in users:
            fake.add_user(user_id=user)
        # slow=1: a loaded test machine may stall a command past 50 ms (tested on its own below)
        shared = [RedisRateGate(redis_server.url, key=key, slow=1.0) for _ in range(3)]
        clients = [
            make_client(api_kind, token=TOKEN, base_url=fake.url, rate_gate=gate) for gate in shared
        ]
        events = [DataEvent(event_name="fleet", user_id=user, created_at=RECENT) for user in users]
        try:
            if api_kind == "sync":  # three threads, each with its client
                sends = [
                    asyncio.to_thread(c.client.send_data_events, events[i::3], concurrency=8)
                    for i, c in enumerate(clients)
                ]
            else:
                sends = [
                    c.call("send_data_events", events=events[i::3], concurrency=8)
                    for i, c in enumerate(clients)
                ]
            results = await asyncio.gather(*sends)
        finally:
            for client, gate in zip(clients, shared, strict=True):
                await client.close()
                await gate.aclose()
        assert sum(gate.stats().granted for gate in shared) >= 45
        assert sum(result.accepted for result in results) == 45
        windows = fake.rate_windows
        assert sum(window.refused for window in windows) == 0, windows
        assert sorted(event["user_id"] for event in fake.events) == sorted(users)


@pytestmark_redis
def test_a_given_redis_client_is_used_as_it_is(redis_server: RedisServer, key: str) -> None:
    sync = redis.Redis.from_url(redis_server.url, socket_timeout=1)
    gate = RedisRateGate(sync, key=key)
    with FakeIntercom(token=TOKEN) as fake, pytest.raises(TypeError, match=r"redis\.asyncio"):
        AsyncDataEventsClient(token=TOKEN, base_url=fake.url, rate_gate=gate)
    with FakeIntercom(token=TOKEN, rate_limit=3) as fake:
        fake.add_user(user_id="u")
        with DataEventsClient(token=TOKEN, base_url=fake.url, rate_gate=gate) as client:
            client.create_data_event(event_name="given", user_id="u", created_at=RECENT)
    assert gate.stats().granted == 1
    assert sync.hget(key, "limit") == b"3"
    gate.close()  # a given client stays open
    assert sync.ping()
    sync.close()


@pytestmark_redis
async def test_a_given_async_redis_client_serves_async_clients(
    redis_server: RedisServer, key: str
) -> None:
    given = redis.asyncio.Redis.from_url(redis_server.url, socket_timeout=1)
    gate = RedisRateGate(given, key=key)
    with pytest.raises(TypeError, match=r"redis\.Redis"):
        DataEventsClient(token=TOKEN, base_url="http://127.0.0.1:1", rate_gate=gate)
    with FakeIntercom(token=TOKEN, rate_limit=3) as fake:
        fake.add_user(user_id="u")
        async with AsyncDataEventsClient(token=TOKEN, base_url=fake.url, rate_gate=gate) as c:
            await c.create_data_event(event_name="given", user_id="u", created_at=RECENT)
    assert gate.stats().granted == 1
    await gate.aclose()
    assert await given.hget(key, "limit") == b"3"
    await given.aclose()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"key": ""}, InvalidEventError, "key"),
        ({"key": 7}, InvalidEventError, "key"),
        ({"key": "k", "slow": 0}, InvalidEventError, "slow"),
        ({"key": "k", "retry_every": -1}, InvalidEventError, "retry_every"),
    ],
)
def test_bad_gate_settings_name_the_field(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        RedisRateGate("redis://127.0.0.1:1/0", **kwargs)  # type: ignore[arg-type]


def test_what_is_not_a_gate_or_a_redis_is_refused() -> None:
    with pytest.raises(TypeError, match="url_or_client"):
        RedisRateGate(42, key="k")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="redis://"):
        RedisRateGate("http://127.0.0.1:6379/0", key="k")  # refused before any send
    with pytest.raises(TypeError, match="rate_gate"):
        DataEventsClient(token=TOKEN, rate_gate="redis://x")  # type: ignore[arg-type]


def test_without_redis_installed_the_gate_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['redis'] = None\n"
        "import intercom_events\n"
        "try:\n"
        "    intercom_events.RedisRateGate('redis://127.0.0.1:1/0', key='k')\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "pip install 'intercom-events[redis]'" in done.stdout, done.stderr


def test_importing_the_sdk_imports_no_redis() -> None:
    code = (
        "import sys, intercom_events\n"
        "intercom_events.RedisRateGate\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'redis'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


# -- faults: Redis dies, sleeps, or refuses the password --------------------------------------


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path) as server:
        yield server


@pytestmark_redis
@pytest.mark.parametrize("api_kind", API_KINDS)
async def test_redis_dying_mid_run_loses_nothing_and_the_gate_comes_back(
    api_kind: str, own_redis: RedisServer, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    gate = RedisRateGate(own_redis.url, key=key, retry_every=0.2)
    users = [f"u{i}" for i in range(60)]
    with FakeIntercom(token=TOKEN, rate_limit=1000) as fake:
        for user in users:
            fake.add_user(user_id=user)
        client = make_client(
            api_kind, token=TOKEN, base_url=fake.url, rate_gate=gate, outbox=MemoryOutbox()
        )
        try:
            with caplog.at_level(logging.INFO, logger="intercom_events"):
                for user in users[:20]:
                    client.track(event_name="outage", user_id=user, created_at=RECENT)
                await client.call("flush", timeout=30)
                own_redis.stop()
                for user in users[20:40]:
                    client.track(event_name="outage", user_id=user, created_at=RECENT)
                await client.call("flush", timeout=30)
                during = gate.stats()
                own_redis.start()
                time.sleep(0.3)  # past retry_every: the next request tries Redis again
                for user in users[40:]:
                    client.track(event_name="outage", user_id=user, created_at=RECENT)
                await client.call("flush", timeout=30)
        finally:
            await client.close()
        stored = [event["user_id"] for event in fake.events]
    assert sorted(stored) == sorted(users)  # every event once
    assert during.fallbacks == 1
    after = gate.stats()
    assert after.granted > during.granted  # back on Redis
    assert after.fallbacks == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "Redis failed" in warnings[0].getMessage()
    assert any("answers again" in r.getMessage() for r in caplog.records)
    if api_kind == "async":
        await gate.aclose()
    gate.close()


@pytestmark_redis
def test_a_slow_redis_sends_the_gate_to_its_own_window(
    own_redis: RedisServer, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    gate = RedisRateGate(own_redis.url, key=key, slow=0.05, retry_every=60)
    assert gate.reserve(0.0) == 0
    sleeper = threading.Thread(target=own_redis.command, args=("DEBUG", "SLEEP", "0.5"))
    sleeper.start()
    time.sleep(0.1)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="intercom_events"):
        assert gate.reserve(0.0) == 0  # the in-process gate answered (its first probe)
    assert time.monotonic() - started < 0.45  # bounded by slow, not by Redis's sleep
    sleeper.join()
    assert gate.stats().fallbacks == 1
    assert "TimeoutError" in caplog.text
    assert "fallback" in repr(gate)
    gate.close()


@pytestmark_redis
def test_the_redis_password_never_shows(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secret = "redis-pass-canary-42"
    with RedisServer(tmp_path, password=secret) as server:
        good = RedisRateGate(server.url, key="k")
        bad = RedisRateGate(server.url.replace(secret, "wrong-" + secret), key="k")
        with caplog.at_level(logging.DEBUG, logger="intercom_events"):
            assert good.reserve(0.0) == 0
            assert bad.reserve(0.0) == 0  # refused by Redis: the in-process gate answers
        assert bad.stats().fallbacks == 1
        assert good.stats().granted == 1
        shown = caplog.text + repr(good) + repr(bad) + str(good.stats())
        assert "Redis failed" in caplog.text
        assert secret not in shown
        good.close()
        bad.close()


# -- the CLI: --rate-gate on send and import ---------------------------------------------------


def run_cli(fake: FakeIntercom, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "intercom_events", "--base-url", fake.url]
    return subprocess.run(
        [*command, "--token", fake.token, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytestmark_redis
def test_cli_import_and_send_share_the_fleet_window(
    redis_server: RedisServer, key: str, tmp_path: Path
) -> None:
    rows = tmp_path / "events.jsonl"
    rows.write_text(
        "".join(
            f'{{"event_name": "cli", "user_id": "u{i}", "created_at": {RECENT}}}\n'
            for i in range(12)
        ),
        encoding="utf-8",
    )
    gate = ["--rate-gate", redis_server.url, "--rate-gate-key", key]
    with FakeIntercom(token=TOKEN, rate_limit=5, window=1) as fake:
        for i in range(12):
            fake.add_user(user_id=f"u{i}")
        imported = run_cli(fake, "import", str(rows), "--no-progress", *gate)
        sent = run_cli(fake, "send", "cli-one", "--user-id", "u0", *gate)
        refused = sum(window.refused for window in fake.rate_windows)
        stored = len(fake.events)
    assert imported.returncode == 0, imported.stderr
    assert sent.returncode == 0, sent.stderr
    assert f"rate gate {key}: 12 slots granted" in imported.stderr
    assert f"rate gate {key}: 1 slots granted" in sent.stderr
    assert (refused, stored) == (0, 13)
    redis_client = redis.Redis.from_url(redis_server.url)
    assert redis_client.hget(key, "limit") == b"5"
    redis_client.close()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--rate-gate", "redis://127.0.0.1:1/0"], "--rate-gate-key"),
        (["--rate-gate-key", "k"], "needs --rate-gate URL"),
    ],
)
def test_cli_rate_gate_needs_its_key(flags: list[str], message: str) -> None:
    with FakeIntercom(token=TOKEN) as fake:
        done = run_cli(fake, "send", "x", "--user-id", "u", *flags)
        assert fake.requests == []
    assert done.returncode == 2
    assert message in done.stderr


@pytestmark_redis
@pytest.mark.filterwarnings("ignore:.*multi-threaded.*fork:DeprecationWarning")
def test_a_forked_child_takes_slots_on_its_own_connection(
    redis_server: RedisServer, key: str
) -> None:
    gate = RedisRateGate(redis_server.url, key=key)
    assert gate.reserve(0.0) == 0
    now = server_time()
    gate.record(window_headers(remaining=8, reset=now + 30, date=now, limit=10), 0.0)
    pid = os.fork()
    if pid == 0:  # the child: its own socket, the same window
        code = 1
        try:
            code = 0 if [gate.reserve(0.0) for _ in range(3)] == [0, 0, 0] else 1
        finally:
            os._exit(code)
    status = None
    try:
        _, status = os.waitpid(pid, 0)
    finally:
        if status is None:  # interrupted before the child was reaped: stop it by its pid
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert [gate.reserve(0.0) for _ in range(6)][:5] == [0] * 5  # 2 + 3 + 5 of 10 taken
    assert 25 < gate.reserve(0.0) <= 30 + MARGIN
    gate.close()
