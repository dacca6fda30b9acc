"""Every event read is reported exactly once, whatever stops a bulk send and wherever.

Audits: input = stored + reported + unread, nothing reported twice, accepted and failed never
overlap. Real SIGINTs land at random moments in subprocesses (the sync client and the CLI's
import); cancellations at random moments in process (the async client).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from intercom_events import AsyncDataEventsClient, DataEvent
from intercom_events.testing import FakeIntercom

START = 1_700_000_000
ROUNDS = 10


class Refused(Exception):
    pass


def numbered(count: int) -> Iterator[DataEvent]:
    for n in range(count):
        yield DataEvent("e", user_id="u0", created_at=START + n)


def stored(fake: FakeIntercom) -> set[int]:
    return {e["created_at"] - START for e in fake.events}


def sending(fake: FakeIntercom) -> None:
    """Wait until a child process has started sending, however slowly it started up."""
    deadline = time.monotonic() + 30
    while len(fake.requests) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)


def audit(read: int, reported: list[tuple[int, bool]], fake: FakeIntercom) -> None:
    """Every event read is reported once; accepted ones are stored; unread ones are not."""
    counts = Counter(n for n, _ in reported)
    assert set(counts) == set(range(read)), "an event read was not reported"
    assert set(counts.values()) <= {1}, "an event was reported twice"
    accepted = {n for n, ok in reported if ok}
    landed = stored(fake)
    assert accepted <= landed
    assert landed <= set(range(read)), "an unread event was sent"


async def test_on_result_raising_every_time_still_reports_every_event(
    api: Any, fake: FakeIntercom
) -> None:
    fake.add_user(user_id="u0")
    fake.inject("slow", rate=0.5, delay=0.2)  # so that some are in flight when it stops
    reported: list[tuple[int, bool]] = []

    def on_result(event: DataEvent, error: Exception | None) -> None:
        assert isinstance(event.created_at, int)
        reported.append((event.created_at - START, error is None))
        raise Refused

    source = numbered(100)
    with pytest.raises(Refused) as caught:
        await api.call("send_data_events", events=source, concurrency=8, on_result=on_result)
    read = next(source).created_at - START  # the rest stays in the caller's iterator
    audit(read, reported, fake)
    result = caught.value.bulk_result
    assert result.total == read == result.accepted + len(result.failed)
    assert result.accepted == sum(ok for _, ok in reported)
    if read > 1:
        assert any("on_result also raised Refused" in note for note in caught.value.__notes__)
    fake.clear_faults()


async def test_on_result_raising_once_stops_the_send_and_reports_the_rest(
    api: Any, fake: FakeIntercom
) -> None:
    fake.add_user(user_id="u0")
    fake.inject("slow", rate=0.5, delay=0.2)
    reported: list[tuple[int, bool]] = []

    def on_result(event: DataEvent, error: Exception | None) -> None:
        assert isinstance(event.created_at, int)
        reported.append((event.created_at - START, error is None))
        if len(reported) == 10:
            raise Refused

    source = numbered(1000)
    with pytest.raises(Refused) as caught:
        await api.call("send_data_events", events=source, concurrency=8, on_result=on_result)
    read = next(source).created_at - START
    assert 10 <= read <= 10 + 8
    audit(read, reported, fake)
    assert caught.value.bulk_result.total == read
    fake.clear_faults()


async def test_cancellation_at_random_moments_loses_nothing() -> None:
    rng = random.Random(7)
    for _ in range(ROUNDS):
        async with FakeIntercom(seed=rng.randrange(1000)) as fake:
            fake.add_user(user_id="u0")
            fake.inject("slow", rate=0.3, delay=0.05)
            reported: list[tuple[int, bool]] = []

            def on_result(
                event: DataEvent, error: Exception | None, seen: list[Any] = reported
            ) -> None:
                assert isinstance(event.created_at, int)
                seen.append((event.created_at - START, error is None))

            source = numbered(100_000)
            async with AsyncDataEventsClient(token=fake.token, base_url=fake.url) as client:
                task = asyncio.create_task(
                    client.send_data_events(source, concurrency=4, on_result=on_result)
                )
                await asyncio.sleep(rng.uniform(0, 0.3))
                task.cancel()
                with pytest.raises(asyncio.CancelledError) as caught:
                    await task
            read = next(source).created_at - START
            audit(read, reported, fake)
            assert caught.value.bulk_result.total == read  # type: ignore[attr-defined]


CHILD = f"""
import json, sys
from intercom_events import DataEvent, DataEventsClient

url, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
read = 0


def source():
    global read
    for n in range(count):
        read = n + 1
        yield DataEvent("e", user_id="u0", created_at={START} + n)


reported = []
print("ready", flush=True)
try:
    with DataEventsClient(token=token, base_url=url) as client:
        result = client.send_data_events(
            source(),
            concurrency=4,
            on_result=lambda e, x: reported.append((e.created_at - {START}, x is None)),
        )
    outcome = "done"
except KeyboardInterrupt as stop:
    outcome, result = "interrupted", getattr(stop, "bulk_result", None)
total = None if result is None else [result.total, result.accepted, len(result.failed)]
print(json.dumps({{"outcome": outcome, "read": read, "reported": reported, "total": total}}))
"""


@pytest.mark.processes
def test_ctrl_c_at_random_moments_loses_nothing_sync() -> None:
    rng = random.Random(11)
    outcomes = Counter()
    for _ in range(ROUNDS):
        with FakeIntercom(seed=rng.randrange(1000)) as fake:
            fake.add_user(user_id="u0")
            fake.inject("slow", rate=0.3, delay=0.05)
            child = subprocess.Popen(
                [sys.executable, "-c", CHILD, fake.url, fake.token, "100000"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                assert child.stdout is not None
                assert child.stdout.readline().strip() == "ready"
                sending(fake)
                time.sleep(rng.uniform(0, 0.5))
                child.send_signal(signal.SIGINT)
                out, _ = child.communicate(timeout=30)
            finally:
                if child.poll() is None:
                    child.kill()
                    child.wait()
            report = json.loads(out.splitlines()[-1])
            outcomes[report["outcome"]] += 1
            reported = [(n, ok) for n, ok in report["reported"]]
            audit(report["read"], reported, fake)
            if report["total"] is not None:
                total, accepted, failed = report["total"]
                assert total == report["read"] == accepted + failed
    assert outcomes["interrupted"] >= ROUNDS // 2, outcomes


@pytest.mark.processes
def test_ctrl_c_during_an_import_says_exactly_where_to_resume(tmp_path: Path) -> None:
    rng = random.Random(5)
    rows, blob = 1000, "x" * 30_000  # large rows: Ctrl-C often lands while one is prepared
    source = tmp_path / "in.jsonl"
    with source.open("w") as file:
        for n in range(rows):
            row = {"event_name": "e", "user_id": "u0", "created_at": START + n}
            print(json.dumps({**row, "metadata": {"blob": blob}}), file=file)
    resumed = 0
    for _ in range(ROUNDS):
        failed_file = tmp_path / "failed.jsonl"
        with FakeIntercom(seed=rng.randrange(1000)) as fake:
            fake.add_user(user_id="u0")
            fake.inject("slow", rate=0.3, delay=0.05)
            command = [
                *(sys.executable, "-m", "intercom_events"),
                *("--base-url", fake.url, "--token", fake.token),
                *("import", "--no-outbox", str(source), "--failed", str(failed_file)),
                *("--no-progress", "--concurrency", "4"),
            ]
            child = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
            sending(fake)
            time.sleep(rng.uniform(0, 0.5))
            child.send_signal(signal.SIGINT)
            _, err = child.communicate(timeout=30)
            landed = stored(fake)
        failed = [
            json.loads(line)["created_at"] - START for line in failed_file.read_text().splitlines()
        ]
        assert len(failed) == len(set(failed)), "a row is in the failed file twice"
        match = re.search(r"rows after line (\d+) of ", err)
        if match is None:  # stopped before the send began, or after it ended
            assert child.returncode in (0, 130), err
            assert landed in (set(), set(range(rows))), err
            continue
        resumed += 1
        line = int(match.group(1))
        assert child.returncode == 130
        done = set(range(line))  # line L holds the event numbered L - 1
        assert done <= landed | set(failed), (
            "a row before the resume line is neither stored nor failed"
        )
        assert landed <= done, "a row after the resume line was sent"
        assert set(failed) <= done
    assert resumed >= ROUNDS // 2
