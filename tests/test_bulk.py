"""Bulk sending on both clients: nothing lost, nothing doubled, lazy, interruptible."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from intercom_events import (
    APIConnectionError,
    AsyncDataEventsClient,
    BulkResult,
    DataEvent,
    DataEventsClient,
    InvalidEventError,
    NotFoundError,
    RetryPolicy,
)
from intercom_events.testing import FakeIntercom

from .conftest import make_client

FAST = RetryPolicy(base=0.01, cap=0.05)


def events(count: int, users: int = 5, start: int = 0) -> Iterator[DataEvent]:
    for n in range(start, start + count):
        yield DataEvent("bulk-sent", user_id=f"u{n % users}", created_at=n)


async def send(api: Any, source: Any, **kwargs: Any) -> BulkResult:
    return await api.call("send_data_events", events=source, **kwargs)  # type: ignore[no-any-return]


async def test_with_faults_every_event_is_accepted_once_or_returned(api_kind: str) -> None:
    with FakeIntercom(seed=3) as fake:
        for user in range(5):
            fake.add_user(user_id=f"u{user}")
        fake.inject("500", rate=0.15)
        fake.inject("drop_after", rate=0.1)
        fake.inject("drop_before", rate=0.1)
        client = make_client(
            api_kind, token=fake.token, base_url=fake.url, max_retries=1, retry_policy=FAST
        )
        seen: list[tuple[DataEvent, Exception | None]] = []
        result = await send(
            client, events(200), concurrency=8, on_result=lambda e, x: seen.append((e, x))
        )
        await client.close()
        stored = Counter(e["created_at"] for e in fake.events)
    assert result.total == 200
    assert result.accepted + len(result.failed) == 200
    assert 0 < len(result.failed) < 50
    assert len(seen) == 200
    assert {e.created_at for e, _ in seen} == set(range(200))
    failed = {f.event.created_at for f in result.failed}
    accepted = set(range(200)) - failed
    assert all(stored[t] == 1 for t in accepted)  # every accepted event stored exactly once
    assert max(stored.values()) == 1  # and nothing stored twice
    assert all(isinstance(f.error, APIConnectionError | Exception) for f in result.failed)


async def test_unknown_users_and_invalid_events_fail_alone(api: Any, fake: FakeIntercom) -> None:
    fake.add_user(user_id="known")
    batch = [
        DataEvent("e", user_id="known", created_at=1),
        DataEvent("e", user_id="stranger", created_at=2),
        DataEvent("e", created_at=3),  # no identifier
        DataEvent("e", user_id="known", created_at=4, metadata={"nested": {"a": 1}}),
        "not an event",
        DataEvent("e", user_id="known", created_at=5),
    ]
    result = await send(api, batch, concurrency=2)
    assert (result.total, result.accepted) == (6, 2)
    errors = {type(f.error) for f in result.failed}
    assert errors == {NotFoundError, InvalidEventError}
    assert [e["created_at"] for e in fake.events] == [1, 5] or sorted(
        e["created_at"] for e in fake.events
    ) == [1, 5]
    assert len(fake.requests) == 3  # the invalid ones were never sent


async def test_created_at_is_pinned_for_events_without_one(api: Any, fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    fake.inject("drop_after", first=1)
    result = await send(api, [DataEvent("e", user_id="1")], concurrency=1)
    assert result.accepted == 1
    assert len(fake.requests) == 2
    assert fake.requests[0].json()["created_at"] == fake.requests[1].json()["created_at"]
    assert len(fake.events) == 1


class Enough(Exception):
    """Raised from on_result to stop a long bulk send early."""


async def test_a_huge_generator_is_consumed_lazily(api: Any, fake: FakeIntercom) -> None:
    for user in range(5):
        fake.add_user(user_id=f"u{user}")
    produced = 0
    results = 0

    def source() -> Iterator[DataEvent]:
        nonlocal produced
        for event in events(100_000):
            produced += 1
            yield event

    def on_result(event: DataEvent, error: Exception | None) -> None:
        nonlocal results
        results += 1
        assert produced - results <= 8  # never more read than in flight
        if results == 150:
            raise Enough

    generator = source()
    with pytest.raises(Enough):
        await send(api, generator, concurrency=8, on_result=on_result)
    assert produced <= 150 + 8
    read = produced
    following = next(generator)  # the rest stays in the caller's iterator
    assert following.created_at == read


async def test_async_iterables_are_accepted(fake: FakeIntercom) -> None:
    fake.add_user(user_id="u0")

    async def source() -> Any:
        for n in range(5):
            yield DataEvent("e", user_id="u0", created_at=n)

    async with AsyncDataEventsClient(token=fake.token, base_url=fake.url) as client:
        result = await client.send_data_events(source(), concurrency=2)
    assert (result.total, result.accepted, result.failed) == (5, 5, [])


async def test_cancellation_reports_in_flight_events_then_propagates(fake: FakeIntercom) -> None:
    fake.add_user(user_id="u0")
    fake.inject("slow", first=3, delay=0.5)
    reported: list[tuple[DataEvent, Exception | None]] = []
    source = (DataEvent("e", user_id="u0", created_at=n) for n in range(1000))
    async with AsyncDataEventsClient(token=fake.token, base_url=fake.url) as client:
        task = asyncio.create_task(
            client.send_data_events(
                source, concurrency=4, on_result=lambda e, x: reported.append((e, x))
            )
        )
        while len(reported) < 1:  # the one fast request has finished
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finished = [e for e, error in reported if error is None]
    interrupted = [(e, error) for e, error in reported if error is not None]
    assert len(finished) >= 1
    assert 3 <= len(interrupted) <= 4  # the three slow ones, and a fast one if in flight
    assert all(isinstance(error, APIConnectionError) for _, error in interrupted)
    assert all("safe to resend" in str(error) for _, error in interrupted)
    read = len(reported)
    assert next(source).created_at == read  # nothing read was lost, nothing unread was taken


def test_ctrl_c_reports_in_flight_events_then_propagates(fake: FakeIntercom) -> None:
    fake.add_user(user_id="u0")
    fake.inject("slow", delay=1.0)
    reported: list[tuple[DataEvent, Exception | None]] = []
    source = (DataEvent("e", user_id="u0", created_at=n) for n in range(1000))
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))  # a real Ctrl-C
    with DataEventsClient(token=fake.token, base_url=fake.url) as client:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            client.send_data_events(
                source, concurrency=4, on_result=lambda e, x: reported.append((e, x))
            )
    interrupted = [error for _, error in reported if error is not None]
    assert len(interrupted) == 4, reported  # the four in flight, reported as failed
    assert all(isinstance(error, APIConnectionError) for error in interrupted)
    assert next(source).created_at == len(reported)
    fake.clear_faults()


async def test_no_retry_is_made_after_a_bulk_send_is_stopped(api: Any, fake: FakeIntercom) -> None:
    fake.add_user(user_id="u0")
    fake.inject("429_retry_after", rate=1.0)  # every request: 429, Retry-After: 1
    reported: list[tuple[DataEvent, Exception | None]] = []

    def on_result(event: DataEvent, error: Exception | None) -> None:
        reported.append((event, error))
        if isinstance(error, InvalidEventError):
            raise Enough

    async def stopper() -> Any:  # the invalid third event comes once both are waiting
        yield DataEvent("e", user_id="u0", created_at=1)
        yield DataEvent("e", user_id="u0", created_at=2)
        while len(fake.requests) < 2:
            await asyncio.sleep(0.01)
        yield DataEvent("", user_id="u0", created_at=3)

    def sync_stopper() -> Iterator[DataEvent]:
        yield DataEvent("e", user_id="u0", created_at=1)
        yield DataEvent("e", user_id="u0", created_at=2)
        while len(fake.requests) < 2:
            time.sleep(0.01)
        yield DataEvent("", user_id="u0", created_at=3)

    source = sync_stopper() if api.kind == "sync" else stopper()
    with pytest.raises(Enough):
        await send(api, source, concurrency=3, on_result=on_result)
    interrupted = sorted(e.created_at for e, error in reported if error is not None)
    assert interrupted == [1, 2, 3]  # the two waiting to retry, and the invalid one
    await asyncio.sleep(1.5)  # past the Retry-After the two were waiting out
    assert len(fake.requests) == 2  # neither was retried behind the caller's back
    fake.clear_faults()


def test_sync_on_result_runs_in_the_callers_thread(fake: FakeIntercom) -> None:
    fake.add_user(user_id="u0")
    threads = set()
    with DataEventsClient(token=fake.token, base_url=fake.url) as client:
        client.send_data_events(
            events(20, users=1),
            concurrency=4,
            on_result=lambda e, x: threads.add(threading.get_ident()),
        )
    assert threads == {threading.get_ident()}


async def test_progress_bar_counts(
    api: Any, fake: FakeIntercom, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_user(user_id="u0")
    result = await send(api, list(events(10, users=1)), progress=True)
    assert result.accepted == 10
    assert "10/10" in capsys.readouterr().err


async def test_progress_without_tqdm_is_a_clear_error(
    api: Any, fake: FakeIntercom, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match=r"intercom-events\[progress\]"):
        await send(api, [], progress=True)
    assert fake.requests == []


@pytest.mark.parametrize("concurrency", [0, -1, 1.5, True])
async def test_bad_concurrency_is_refused(api: Any, concurrency: Any) -> None:
    with pytest.raises(InvalidEventError, match="concurrency"):
        await send(api, [], concurrency=concurrency)


async def test_empty_input(api: Any) -> None:
    assert await send(api, []) == BulkResult(total=0, accepted=0, failed=[])
