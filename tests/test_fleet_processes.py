"""Three processes, each with its own client and SQLite outbox, against one rate limit.

With the fleet's gate (a real ``redis-server``) they draw no 429 and fill every full window;
without it (the same run, for contrast) each believes the window's remainder is its own.
Every child is a real interpreter, stopped by its pid in a ``finally``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from intercom_events.testing import FakeIntercom, WindowCount

from .conftest import RECENT, TOKEN
from .redis_server import RedisServer

pytestmark = pytest.mark.processes

CHILD = str(Path(__file__).with_name("_fleet_child.py"))
LIMIT, WINDOW, PROCESSES, EACH = 20, 2, 3, 30
"""20 requests per 2-second window; 3 processes of 30 events: 4.5 windows' worth."""


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with RedisServer(tmp_path) as server:
        yield server


def run_fleet(fake: FakeIntercom, folder: Path, redis_url: str | None) -> list[dict[str, Any]]:
    """Start the processes, let them go together, and return their reports."""
    key = f"intercom-events:fleet-{uuid.uuid4().hex[:8]}"
    children: list[subprocess.Popen[str]] = []
    try:
        for n in range(PROCESSES):
            users = [f"p{n}-u{i}-{key[-8:]}" for i in range(EACH)]
            for user in users:
                fake.add_user(user_id=user)
            args = {
                "url": fake.url,
                "token": TOKEN,
                "redis": redis_url,
                "key": key,
                # Three children, a fake and Redis on two loaded cores can stall a command
                # past the default 50 ms; falling back is tested on its own (test_fleet.py).
                "slow": 1.0,
                "outbox": str(folder / f"outbox-{n}-{key[-8:]}.db"),
                "users": users,
                "created_at": RECENT,
            }
            children.append(
                subprocess.Popen(
                    [sys.executable, CHILD, json.dumps(args)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        reports = []
        for child in children:
            out, err = child.communicate(timeout=180)
            assert child.returncode == 0, err
            reports.append(json.loads(out.strip().splitlines()[-1]))
        return reports
    finally:
        for child in children:
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)
                child.wait()


def full_windows(windows: list[WindowCount]) -> list[WindowCount]:
    """The windows between the first and the last (those two are partial by nature)."""
    return windows[1:-1]


def test_a_shared_gate_draws_no_429_and_fills_every_window(
    redis_server: RedisServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeIntercom(token=TOKEN, rate_limit=LIMIT, window=WINDOW) as fake:
        alone = run_fleet(fake, tmp_path, None)
        without = fake.rate_windows
    with FakeIntercom(token=TOKEN, rate_limit=LIMIT, window=WINDOW) as fake:
        shared = run_fleet(fake, tmp_path, redis_server.url)
        windows = fake.rate_windows
        stored = [event["user_id"] for event in fake.events]
    refused_alone = sum(w.refused for w in without)
    refused = sum(w.refused for w in windows)
    use = [w.allowed / LIMIT for w in full_windows(windows)]
    with capsys.disabled():
        print(
            f"\n  fleet of {PROCESSES}, {LIMIT} per {WINDOW} s: 429s without the shared gate "
            f"{refused_alone}, with it {refused}; full windows used {[f'{u:.0%}' for u in use]}; "
            f"seconds {max(r['seconds'] for r in alone):.1f} alone vs "
            f"{max(r['seconds'] for r in shared):.1f} shared"
        )
    assert sum(r["delivered"] for r in alone) == PROCESSES * EACH
    assert sum(r["delivered"] for r in shared) == PROCESSES * EACH
    assert len(stored) == len(set(stored)) == PROCESSES * EACH  # every event once
    assert refused == 0, windows
    starts = [w.start for w in windows]
    assert starts == list(range(starts[0], starts[-1] + WINDOW, WINDOW)), "a window went unused"
    assert len(use) >= 2, windows
    assert min(use) >= 0.9, windows
    assert all(r["fallbacks"] == 0 for r in shared)
    assert sum(r["granted"] for r in shared) >= PROCESSES * EACH
