"""Distinct events never merge (same-second pins) and times Intercom cannot mean are refused."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from intercom_events import (
    DataEvent,
    DataEventsClient,
    EventSummary,
    IntercomEventWarning,
    InvalidEventError,
)
from intercom_events._core.timestamps import AHEAD, PinTable, dedup_key
from intercom_events.testing import FakeIntercom

from .conftest import make_client

KEY = dedup_key("user_id", "1", "clicked")
BURST = AHEAD + 1
"""The most events one second can hold for one contact and name: now to now + 60 s."""


# -- the pin table, on a hand-driven clock ---------------------------------------------------


def test_automatic_pins_take_the_next_free_second() -> None:
    table = PinTable()
    assert [table.pin(KEY, None, "{}", 100.2)[0] for _ in range(3)] == [100, 101, 102]
    # Another contact, or another name, has seconds of its own.
    assert table.pin(dedup_key("user_id", "2", "clicked"), None, "{}", 100.5)[0] == 100
    assert table.pin(dedup_key("user_id", "1", "viewed"), None, "{}", 100.5)[0] == 100
    # Intercom compares names without case, with '.' and '$' read as '-'.
    assert table.pin(dedup_key("user_id", "1", "Clicked"), None, "{}", 100.5)[0] == 103
    assert dedup_key("email", "a@b.c", "paid.Order$x") == ("email", "a@b.c", "paid-order-x")


def test_an_explicit_second_is_kept_and_blocks_a_later_automatic_pin() -> None:
    table = PinTable()
    assert table.pin(KEY, 100, "{}", 100.0) == (100, None)
    assert table.pin(KEY, 500, "{}", 100.0) == (500, None)
    assert table.pin(KEY, None, "{}", 100.0)[0] == 101
    assert table.pin(KEY, None, "{}", 500.0)[0] == 501  # 500 was sent explicitly, long ago


def test_a_resend_is_silent_and_other_metadata_at_the_same_second_warns() -> None:
    table = PinTable()
    assert table.pin(KEY, 100, '{"a":1}', 0.0) == (100, None)
    assert table.pin(KEY, 100, '{"a":1}', 9.0) == (100, None)
    second, warning = table.pin(KEY, 100, '{"a":2}', 9.0)
    assert second == 100
    assert warning is not None
    assert "Intercom keeps only the first" in warning
    # The first metadata is the one Intercom kept, so that is the one a resend must match.
    assert table.pin(KEY, 100, '{"a":1}', 9.0) == (100, None)
    # An automatic pin is remembered too: resending the returned event is safe.
    pinned, _ = table.pin(KEY, None, '{"b":1}', 50.0)
    assert table.pin(KEY, pinned, '{"b":1}', 80.0) == (pinned, None)


def test_pins_run_at_most_a_minute_ahead_then_warn() -> None:
    table = PinTable(ahead=60)
    seconds = [table.pin(KEY, None, "{}", 0.0) for _ in range(62)]
    assert [s for s, _ in seconds[:61]] == list(range(61))
    assert all(w is None for _, w in seconds[:61])
    assert seconds[61][0] == 60
    assert "may merge" in str(seconds[61][1])


def test_memory_stays_bounded() -> None:
    table = PinTable(remembered=1000)
    for user in range(5000):
        table.pin(dedup_key("user_id", str(user), "e"), None, "{}", 0.0)
    assert len(table) == 5000
    table.pin(KEY, None, "{}", 1.0)  # the clock moved on: seconds behind it are dropped
    assert len(table) == 1
    assert len(table._sent) == 1000


# -- over HTTP, both clients ------------------------------------------------------------------


async def test_a_burst_from_a_loop_stores_every_event(api: Any, fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    args = {"event_name": "clicked", "user_id": "1"}
    sent = [await api.call("create_data_event", **args) for _ in range(BURST)]
    assert len({event.created_at for event in sent}) == BURST
    assert len(fake.events) == BURST
    assert sorted(e["created_at"] for e in fake.events) == sorted(e.created_at for e in sent)


def test_a_burst_from_16_threads_stores_every_event(fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    sent: list[DataEvent] = []
    shares = [BURST // 16 + (n < BURST % 16) for n in range(16)]
    with DataEventsClient(token=fake.token, base_url=fake.url) as client:

        def burst(share: int) -> None:
            for _ in range(share):
                sent.append(client.create_data_event(event_name="clicked", user_id="1"))

        threads = [threading.Thread(target=burst, args=(share,)) for share in shares]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert len({event.created_at for event in sent}) == len(sent) == BURST
    assert len(fake.events) == BURST


async def test_a_burst_from_concurrent_tasks_stores_every_event(fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    client = make_client("async", token=fake.token, base_url=fake.url)
    try:
        args = {"event_name": "clicked", "user_id": "1"}
        sent = await asyncio.gather(
            *(client.call("create_data_event", **args) for _ in range(BURST))
        )
    finally:
        await client.close()
    assert len({event.created_at for event in sent}) == BURST
    assert len(fake.events) == BURST


async def test_a_bulk_send_for_one_user_stores_every_event(api: Any, fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    events = [DataEvent("clicked", user_id="1") for _ in range(BURST)]
    result = await api.call("send_data_events", events=events, concurrency=8)
    assert (result.accepted, result.failed) == (BURST, [])
    assert len({e["created_at"] for e in fake.events}) == len(fake.events) == BURST


async def test_explicit_resends_are_silent_and_other_metadata_warns(
    api: Any, fake: FakeIntercom
) -> None:
    fake.add_user(user_id="1")
    args = {"event_name": "paid", "user_id": "1", "created_at": 1_700_000_000}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        await api.call("create_data_event", **args, metadata={"n": 1})
        await api.call("create_data_event", **args, metadata={"n": 1})
    with pytest.warns(IntercomEventWarning, match="Intercom keeps only the first") as caught:
        await api.call("create_data_event", **args, metadata={"n": 2})
    assert "intercom_events" not in caught[0].filename  # it points at the caller
    assert [e["metadata"] for e in fake.events] == [{"n": 1}]


async def test_more_than_a_minute_of_pins_warns(api: Any, fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(70):
            await api.call("create_data_event", event_name="clicked", user_id="1")
    merging = [w for w in caught if issubclass(w.category, IntercomEventWarning)]
    assert merging
    assert "may merge" in str(merging[0].message)


def test_an_import_of_rows_without_created_at_stores_every_row(
    fake: FakeIntercom, tmp_path: Path
) -> None:
    fake.add_user(user_id="1")
    source = tmp_path / "same.jsonl"
    source.write_text('{"event_name": "clicked", "user_id": "1"}\n' * 20)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "intercom_events"),
            *("--base-url", fake.url, "--token", fake.token),
            *("import", str(source), "--no-progress"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert len({e["created_at"] for e in fake.events}) == len(fake.events) == 20


# -- ranges --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("created_at", "words"),
    [
        (1_714_521_600_000, "looks like milliseconds"),
        (-1, "from 1970 to the end of 2100"),
        (4_133_980_800, "from 1970 to the end of 2100"),
        (datetime(2101, 1, 1, tzinfo=UTC), "from 1970 to the end of 2100"),
        (10**5000, "an int of 16610 bits"),
    ],
    ids=["milliseconds", "negative", "2101", "2101-datetime", "huge"],
)
async def test_created_at_outside_1970_to_2100_is_refused(
    api: Any, fake: FakeIntercom, created_at: Any, words: str
) -> None:
    with pytest.raises(InvalidEventError, match=words) as caught:
        await api.call("create_data_event", event_name="e", user_id="1", created_at=created_at)
    assert caught.value.field == "created_at"
    assert fake.requests == []


async def test_the_last_second_of_2100_is_accepted(api: Any, fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    sent = await api.call("create_data_event", event_name="e", user_id="1", created_at=4133980799)
    assert sent.created_at == fake.events[0]["created_at"] == 4133980799


@pytest.mark.parametrize(
    ("metadata", "field", "words"),
    [
        ({"paid_date": -5}, "metadata['paid_date']", "from 1970"),
        ({"paid_date": 1_714_521_600_000}, "metadata['paid_date']", "milliseconds"),
        ({"n": 2**63}, "metadata['n']", ">= -9223372036854775808"),
        ({"n": -(2**63) - 1}, "metadata['n']", ">= -9223372036854775808"),
        ({"n": 10**5000}, "metadata['n']", "an int of 16610 bits"),
    ],
    ids=["date-negative", "date-milliseconds", "int64-above", "int64-below", "huge"],
)
async def test_metadata_values_intercom_cannot_mean_are_refused(
    api: Any, fake: FakeIntercom, metadata: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidEventError, match=words) as caught:
        await api.call("create_data_event", event_name="e", user_id="1", metadata=metadata)
    assert caught.value.field == field
    assert fake.requests == []


async def test_summaries_outside_the_range_are_refused(api: Any, fake: FakeIntercom) -> None:
    summary = EventSummary("e", count=1, first=1_714_521_600_000, last=1_714_521_600_000)
    with pytest.raises(InvalidEventError, match="milliseconds") as caught:
        await api.call("create_data_event_summaries", user_id="1", event_summaries=[summary])
    assert caught.value.field == "event_summaries[0].first"
    with pytest.raises(InvalidEventError, match="count"):
        EventSummary("e", count=2**63, first=1, last=1)
    assert fake.requests == []


async def test_one_bad_value_in_a_bulk_send_fails_alone(api: Any, fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    events = [
        DataEvent("e", user_id="1", created_at=1),
        DataEvent("e", user_id="1", created_at=2, metadata={"n": 10**5000}),
        DataEvent("e", user_id="1", created_at=1_714_521_600_000),
        DataEvent("e", user_id="1", created_at=3),
    ]
    result = await api.call("send_data_events", events=events)
    assert (result.total, result.accepted) == (4, 2)
    assert [f.event for f in result.failed] == events[1:3]
    assert all(isinstance(f.error, InvalidEventError) for f in result.failed)
    assert sorted(e["created_at"] for e in fake.events) == [1, 3]
