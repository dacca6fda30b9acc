"""track(): checked at once, stored without network I/O, delivered in the background.

Every behaviour runs on both clients (``api_kind``) and, where the outbox matters, on both
outboxes; all HTTP goes to the fake Intercom (or a silent server of the tests' own).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from intercom_events import (
    AsyncDataEventsClient,
    ClientClosedError,
    DataEvent,
    DataEventsClient,
    IntercomError,
    InvalidEventError,
    MemoryOutbox,
    NotFoundError,
    OutboxFullError,
    SQLiteOutbox,
    TrackingStats,
    UnauthorizedError,
    UnprocessableEntityError,
)
from intercom_events._tracking.books import Books  # the sender's bookkeeping, no I/O
from intercom_events._tracking.outbox import Item
from intercom_events.testing import FakeIntercom

from .conftest import RECENT, make_client
from .hostile import HostileServer

OUTBOXES = ["memory", "sqlite"]


@pytest.fixture(params=OUTBOXES)
def outbox_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def outbox_for(kind: str, tmp_path: Path, **options: Any) -> MemoryOutbox | SQLiteOutbox:
    if kind == "memory":
        return MemoryOutbox(**options)
    return SQLiteOutbox(tmp_path / "outbox.sqlite3", **options)


@pytest.fixture
def silent() -> Iterator[HostileServer]:
    """A server that reads each request and never answers."""
    with HostileServer(lambda server, connection, request: server.sleep(60)) as server:
        yield server


@pytest.fixture
async def tracker(
    api_kind: str, outbox_kind: str, fake: FakeIntercom, tmp_path: Path
) -> AsyncIterator[Any]:
    fake.add_user(user_id="u1")
    client = make_client(
        api_kind,
        token=fake.token,
        base_url=fake.url,
        outbox=outbox_for(outbox_kind, tmp_path),
        close_timeout=2.0,
    )
    yield client
    await client.close()


def names(fake: FakeIntercom) -> list[str]:
    return sorted(event["event_name"] for event in fake.events)


async def test_track_stores_and_the_sender_delivers(tracker: Any, fake: FakeIntercom) -> None:
    sent = [tracker.track(event_name=f"e-{i}", user_id="u1", metadata={"i": i}) for i in range(30)]
    assert all(isinstance(event, DataEvent) and event.created_at for event in sent)
    stats = await tracker.call("flush", timeout=20)
    assert stats == TrackingStats(tracked=30, delivered=30, pending=0)
    assert names(fake) == sorted(f"e-{i}" for i in range(30))
    by_name = {event["event_name"]: event for event in fake.events}
    for event in sent:  # delivered as pinned when tracked: a replay is the same event
        assert by_name[event.event_name]["created_at"] == event.created_at
    assert tracker.client.tracking == stats


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"event_name": "x"}, "user_id"),
        ({"event_name": "x", "user_id": "u1", "email": "a@example.com"}, "user_id"),
        ({"event_name": "", "user_id": "u1"}, "event_name"),
        ({"event_name": "x", "user_id": "u1", "created_at": 1_700_000_000_000}, "created_at"),
        ({"event_name": "x", "user_id": "u1", "metadata": {str(i): i for i in range(11)}}, ""),
        ({"event_name": 3, "user_id": "u1"}, "event_name"),
    ],
)
async def test_bad_input_raises_at_once_and_nothing_is_stored(
    tracker: Any, arguments: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidEventError) as caught:
        tracker.track(**arguments)
    assert field in str(caught.value)
    assert tracker.client.outbox.pending() == 0
    assert tracker.client.tracking.tracked == 0


async def test_track_never_waits_on_the_network(
    api_kind: str, outbox_kind: str, silent: HostileServer, tmp_path: Path
) -> None:
    client = make_client(
        api_kind,
        token="t",
        base_url=silent.url,
        outbox=outbox_for(outbox_kind, tmp_path),
        close_timeout=0.5,
    )
    started = time.monotonic()
    for i in range(50):
        client.track(event_name=f"e-{i}", user_id="u1")
    assert time.monotonic() - started < 2.0  # the server never answers: nothing waited on it
    assert client.client.outbox.pending() == 50
    await client.close()


async def test_transient_failures_are_retried_until_delivered(
    tracker: Any, fake: FakeIntercom
) -> None:
    fake.inject("503", first=2)
    fake.inject("drop_before", first=1)
    tracker.track(event_name="signup", user_id="u1")
    stats = await tracker.call("flush", timeout=20)
    assert (stats.delivered, stats.dead, stats.pending) == (1, 0, 0)
    assert stats.retried == 3
    assert names(fake) == ["signup"]


async def test_401_pauses_sending_logs_once_and_resumes(
    tracker: Any, fake: FakeIntercom, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="intercom_events")
    fake.inject("401", first=3)
    for i in range(5):
        tracker.track(event_name=f"e-{i}", user_id="u1")
    stats = await tracker.call("flush", timeout=30)
    assert (stats.delivered, stats.dead, stats.pending) == (5, 0, 0)
    paused = [r for r in caplog.records if "tracking paused" in r.getMessage()]
    resumed = [r for r in caplog.records if "tracking resumed" in r.getMessage()]
    assert [r.levelno for r in paused] == [logging.ERROR]
    assert [r.levelno for r in resumed] == [logging.INFO]
    assert fake.token not in caplog.text


async def test_a_paused_sender_keeps_events_pending(tracker: Any, fake: FakeIntercom) -> None:
    fake.inject("403")
    tracker.track(event_name="signup", user_id="u1")
    stats = await tracker.call("flush", timeout=1.5)
    assert (stats.pending, stats.dead, stats.delivered) == (1, 0, 0)
    fake.clear_faults()
    stats = await tracker.call("flush", timeout=20)
    assert (stats.pending, stats.delivered) == (0, 1)


async def test_404_is_retried_until_the_contact_exists(tracker: Any, fake: FakeIntercom) -> None:
    tracker.track(event_name="signup", user_id="late")
    deadline = time.monotonic() + 10
    while not any(r.path == "/events" and r.method == "POST" for r in fake.requests):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    fake.add_user(user_id="late")
    stats = await tracker.call("flush", timeout=20)
    assert (stats.delivered, stats.dead) == (1, 0)
    assert stats.retried >= 1
    assert names(fake) == ["signup"]


async def test_404_past_unknown_user_retry_is_a_dead_letter(
    api_kind: str, outbox_kind: str, fake: FakeIntercom, tmp_path: Path
) -> None:
    heard: list[tuple[DataEvent, Exception]] = []
    client = make_client(
        api_kind,
        token=fake.token,
        base_url=fake.url,
        outbox=outbox_for(outbox_kind, tmp_path),
        unknown_user_retry=0.5,
        on_track_error=lambda event, error: heard.append((event, error)),
    )
    event = client.track(event_name="signup", user_id="nobody")
    stats = await client.call("flush", timeout=20)
    assert (stats.dead, stats.pending, stats.delivered) == (1, 0, 0)
    [(heard_event, error)] = heard
    assert heard_event.event_name == "signup"
    assert isinstance(error, NotFoundError)
    [failed] = client.client.outbox.failed()
    assert failed.event.created_at == event.created_at
    assert isinstance(failed.error, NotFoundError)
    await client.close()


async def test_422_is_a_dead_letter_at_once_and_can_be_requeued(
    api_kind: str, outbox_kind: str, fake: FakeIntercom, tmp_path: Path
) -> None:
    fake.add_user(user_id="u1")
    heard: list[Exception] = []
    client = make_client(
        api_kind,
        token=fake.token,
        base_url=fake.url,
        outbox=outbox_for(outbox_kind, tmp_path),
        on_track_error=lambda event, error: heard.append(error),
    )
    fake.inject("422", first=1)
    client.track(event_name="refused", user_id="u1")
    stats = await client.call("flush", timeout=20)
    assert (stats.dead, stats.retried, stats.pending) == (1, 0, 0)
    assert len(heard) == 1
    assert isinstance(heard[0], UnprocessableEntityError)
    assert client.client.outbox.requeue_failed() == 1
    assert client.client.outbox.failed() == []
    await client.call("flush", timeout=20)
    assert names(fake) == ["refused"]
    await client.close()


async def test_dead_letters_read_back_from_the_file_carry_status_and_message(
    api_kind: str, fake: FakeIntercom, tmp_path: Path
) -> None:
    fake.add_user(user_id="u1")
    path = tmp_path / "outbox.sqlite3"
    client = make_client(api_kind, token=fake.token, base_url=fake.url, outbox=path)
    fake.inject("422", first=1)
    client.track(event_name="refused", user_id="u1", metadata={"plan": "pro"})
    await client.call("flush", timeout=20)
    await client.close()
    with SQLiteOutbox(path) as outbox:
        [failed] = outbox.failed()
    assert isinstance(failed.error, UnprocessableEntityError)
    assert failed.error.status_code == 422
    assert "The event was refused" in str(failed.error)
    assert failed.event.event_name == "refused"
    assert failed.event.metadata == {"plan": "pro"}


async def test_an_on_track_error_that_raises_is_logged_not_lost(
    api_kind: str, fake: FakeIntercom, caplog: pytest.LogCaptureFixture
) -> None:
    fake.add_user(user_id="u1")

    def broken(event: DataEvent, error: Exception) -> None:
        raise RuntimeError("handler bug")

    client = make_client(api_kind, token=fake.token, base_url=fake.url, on_track_error=broken)
    fake.inject("422", first=1)
    client.track(event_name="refused", user_id="u1")
    client.track(event_name="fine", user_id="u1")
    stats = await client.call("flush", timeout=20)
    assert (stats.dead, stats.delivered) == (1, 1)
    assert "on_track_error raised" in caplog.text
    assert "handler bug" in caplog.text
    await client.close()


async def test_a_full_outbox_refuses_and_drops_nothing(
    api_kind: str, outbox_kind: str, silent: HostileServer, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    client = make_client(
        api_kind,
        token="t",
        base_url=silent.url,
        outbox=outbox_for(outbox_kind, tmp_path, max_events=10),
        close_timeout=0.2,
    )
    for i in range(10):
        client.track(event_name=f"e-{i}", user_id="u1")
    with pytest.raises(OutboxFullError, match="max_events=10"):
        client.track(event_name="one-too-many", user_id="u1")
    assert client.client.outbox.pending() == 10
    assert client.client.tracking.tracked == 10
    warnings = [r for r in caplog.records if "over 80% full" in r.getMessage()]
    assert [r.levelno for r in warnings] == [logging.WARNING]  # once, on the way up
    await client.close()


async def test_after_close_track_raises_and_memory_events_are_counted_lost(
    api_kind: str, silent: HostileServer, caplog: pytest.LogCaptureFixture
) -> None:
    heard: list[tuple[str, Exception]] = []
    client = make_client(
        api_kind,
        token="t",
        base_url=silent.url,
        close_timeout=0.5,
        on_track_error=lambda event, error: heard.append((event.event_name, error)),
    )
    for i in range(3):
        client.track(event_name=f"e-{i}", user_id="u1")
    started = time.monotonic()
    await client.close()
    assert time.monotonic() - started < 0.5 + 3.0
    with pytest.raises(ClientClosedError):
        client.track(event_name="late", user_id="u1")
    assert client.client.tracking.lost == 3
    assert sorted(name for name, _ in heard) == ["e-0", "e-1", "e-2"]
    assert all(isinstance(error, ClientClosedError) for _, error in heard)
    assert "3 tracked events were not delivered before close" in caplog.text


async def test_sqlite_events_outlive_the_client_and_the_next_one_sends_them(
    api_kind: str, silent: HostileServer, fake: FakeIntercom, tmp_path: Path
) -> None:
    path = tmp_path / "outbox.sqlite3"
    first = make_client(api_kind, token="t", base_url=silent.url, outbox=path, close_timeout=0.3)
    tracked = [first.track(event_name=f"e-{i}", user_id="u1") for i in range(5)]
    await first.close()
    assert first.client.tracking.lost == 0
    with SQLiteOutbox(path) as outbox:
        assert outbox.pending() == 5
    fake.add_user(user_id="u1")
    second = make_client(api_kind, token=fake.token, base_url=fake.url, outbox=path)
    stats = await second.call("flush", timeout=20)  # no track(): it sends what it found
    assert (stats.delivered, stats.pending, stats.tracked) == (5, 0, 0)
    assert {(e["event_name"], e["created_at"]) for e in fake.events} == {
        (event.event_name, event.created_at) for event in tracked
    }
    await second.close()


def test_a_sync_client_on_a_file_starts_sending_at_construction(
    fake: FakeIntercom, tmp_path: Path, silent: HostileServer
) -> None:
    path = tmp_path / "outbox.sqlite3"
    with DataEventsClient(token="t", base_url=silent.url, outbox=path, close_timeout=0.2) as c:
        c.track(event_name="kept", user_id="u1")
    fake.add_user(user_id="u1")
    with DataEventsClient(token=fake.token, base_url=fake.url, outbox=path):
        deadline = time.monotonic() + 20
        while not fake.events:  # no flush, no track: the sender started by itself
            assert time.monotonic() < deadline
            time.sleep(0.02)
    assert names(fake) == ["kept"]


async def test_processes_sharing_a_file_share_its_pins(
    api_kind: str, fake: FakeIntercom, tmp_path: Path
) -> None:
    fake.add_user(user_id="u1")
    path = tmp_path / "outbox.sqlite3"
    one = make_client(api_kind, token=fake.token, base_url=fake.url, outbox=path)
    two = make_client(api_kind, token=fake.token, base_url=fake.url, outbox=SQLiteOutbox(path))
    seconds = [c.track(event_name="tick", user_id="u1").created_at for c in (one, two, one, two)]
    direct = await one.call("create_data_event", event_name="tick", user_id="u1")
    assert len({*seconds, direct.created_at}) == 5  # never merged by Intercom
    await one.call("flush", timeout=20)
    await two.call("flush", timeout=20)
    assert len(fake.events) == 5
    await one.close()
    await two.close()


async def test_one_sender_per_file_and_the_lease_passes_on_close(
    api_kind: str, fake: FakeIntercom, tmp_path: Path
) -> None:
    fake.add_user(user_id="u1")
    path = tmp_path / "outbox.sqlite3"
    one = make_client(api_kind, token=fake.token, base_url=fake.url, outbox=path)
    two = make_client(api_kind, token=fake.token, base_url=fake.url, outbox=path)
    one.track(event_name="a", user_id="u1")
    two.track(event_name="b", user_id="u1")
    assert one.client.outbox.holds_lease() != two.client.outbox.holds_lease()
    holder, other = (one, two) if one.client.outbox.holds_lease() else (two, one)
    await holder.close()
    other.track(event_name="c", user_id="u1")
    stats = await other.call("flush", timeout=20)
    assert stats.pending == 0
    assert other.client.outbox.holds_lease()
    assert names(fake) == ["a", "b", "c"]
    await other.close()


async def test_the_debug_line_comes_at_most_once_a_second(
    api_kind: str, fake: FakeIntercom, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="intercom_events")
    fake.add_user(user_id="u1")
    fake.inject("slow", delay=0.05)
    client = make_client(api_kind, token=fake.token, base_url=fake.url)
    started = time.monotonic()
    for i in range(120):
        client.track(event_name=f"e-{i}", user_id="u1")
    await client.call("flush", timeout=30)
    took = time.monotonic() - started
    lines = [r for r in caplog.records if r.getMessage().startswith("tracking: delivered=")]
    assert 1 <= len(lines) <= took + 1
    await client.close()


async def test_flush_checks_its_timeout(tracker: Any) -> None:
    with pytest.raises(InvalidEventError, match="timeout"):
        await tracker.call("flush", timeout=-1)


def test_outbox_arguments_are_checked(tmp_path: Path) -> None:
    with pytest.raises(InvalidEventError, match="outbox"):
        DataEventsClient(token="t", outbox=42)  # type: ignore[arg-type]
    with pytest.raises(InvalidEventError, match="max_events"):
        MemoryOutbox(max_events=0)
    with pytest.raises(InvalidEventError, match="cannot open"):
        SQLiteOutbox(tmp_path / "no-such-folder" / "x.sqlite3")
    with pytest.raises(InvalidEventError, match="durable"):
        SQLiteOutbox(tmp_path / "x.sqlite3", durable="sometimes")
    with pytest.raises(InvalidEventError, match="on_track_error"):
        DataEventsClient(token="t", on_track_error="print")  # type: ignore[arg-type]
    with pytest.raises(InvalidEventError, match="unknown_user_retry"):
        DataEventsClient(token="t", unknown_user_retry=-1)


def test_async_track_outside_its_loop_says_so() -> None:
    client = AsyncDataEventsClient(token="t", base_url="http://127.0.0.1:9")
    with pytest.raises(RuntimeError, match="inside the client's event loop"):
        client.track(event_name="x", user_id="u1")
    assert client.outbox.pending() == 0

    async def in_a_loop() -> None:
        client.track(event_name="x", user_id="u1")

    asyncio.run(in_a_loop())  # binds the client to that loop (then ended)
    with pytest.raises(RuntimeError, match="event loop it was first used in"):
        asyncio.run(in_a_loop())
    assert client.outbox.pending() == 0  # the first loop's end counted its event as lost
    assert client.tracking.lost == 1
    asyncio.run(client.aclose())


def test_a_port_nobody_listens_on_is_just_a_transient_failure(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = tmp_path / "outbox.sqlite3"
    refused = f"http://127.0.0.1:{port}"
    with DataEventsClient(token="t", base_url=refused, outbox=path, close_timeout=0.2) as client:
        client.track(event_name="x", user_id="u1", created_at=RECENT)
        stats = client.flush(timeout=1.0)
        assert (stats.pending, stats.dead) == (1, 0)
        assert stats.retried >= 1


SPY = """
import asyncio, sys, threading
import intercom_events
from intercom_events.testing import FakeIntercom

seen = []


class Spy:
    def find_spec(self, name, path=None, target=None):
        task = None
        try:
            task = asyncio.current_task()
        except RuntimeError:
            pass
        where = task.get_name() if task else threading.current_thread().name
        if where.startswith("intercom-events"):
            seen.append(name)
        return None


async def tracked_async(fake):
    async with intercom_events.AsyncDataEventsClient(token=fake.token, base_url=fake.url) as c:
        for i in range(20):
            c.track(event_name=f"e{i}", user_id="u1")
        assert (await c.flush(timeout=20)).delivered == 20


with FakeIntercom() as fake:
    fake.add_user(user_id="u1")
    sys.meta_path.insert(0, Spy())
    if sys.argv[1] == "sync":
        with intercom_events.DataEventsClient(token=fake.token, base_url=fake.url) as c:
            for i in range(20):
                c.track(event_name=f"e{i}", user_id="u1")
            assert c.flush(timeout=20).delivered == 20
    else:
        asyncio.run(tracked_async(fake))
print("imported by the sender:", seen)
"""


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_the_sender_imports_nothing_itself(kind: str) -> None:
    """A fork while a sender thread imports would leave the child a half-loaded module."""
    done = subprocess.run(
        [sys.executable, "-c", SPY, kind], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "imported by the sender: []" in done.stdout


def test_another_programs_sqlite_file_is_left_alone(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "app.db"
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE users (name TEXT)")
        connection.commit()
    with pytest.raises(IntercomError, match="another program"):
        SQLiteOutbox(path)
    with contextlib.closing(sqlite3.connect(path)) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert tables == {"users"}


def test_the_lease_names_a_live_holder_only(fake: FakeIntercom, tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    with DataEventsClient(token=fake.token, base_url=fake.url, outbox=path) as client:
        with SQLiteOutbox(path) as outbox:
            found = outbox.holder()
            assert found is not None
            holder, expires = found
            assert holder.pid == os.getpid()
            assert time.time() < expires <= time.time() + 10
        assert client.outbox.holds_lease()
    with SQLiteOutbox(path) as outbox:
        assert outbox.holder() is None  # given up at close


def test_a_late_refusal_from_before_the_resume_starts_no_new_pause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Attempts in flight when a pause began may answer 401 after the probe succeeded."""

    unauthorized = UnauthorizedError(
        status_code=401, headers={}, body=b"", request_id=None, errors=[]
    )
    outbox = MemoryOutbox()
    books = Books(outbox, on_track_error=None, unknown_user_retry=600.0, batch=8)
    for n in range(3):
        outbox.add(lambda pins, n=n: (DataEvent(f"e{n}", user_id="u1", created_at=RECENT), b""),
                   None)  # type: ignore[arg-type]  # fmt: skip
    first, second, _ = (books.next(time.time()) for _ in range(3))
    assert isinstance(first, Item)
    assert isinstance(second, Item)
    began = time.monotonic()
    books.finish(first, unauthorized, stopping=False, started=began)
    assert books.paused
    deadline = time.monotonic() + 5
    while not isinstance(probe := books.next(time.time()), Item):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    books.finish(probe, None, stopping=False, started=time.monotonic())
    assert not books.paused
    books.finish(second, unauthorized, stopping=False, started=began)  # sent before the resume
    assert not books.paused
    assert caplog.text.count("tracking paused") == 1
    assert outbox.pending() == 2  # the late one stays, to be sent again


@pytest.mark.parametrize(("durable", "level"), [("process", 1), ("fsync", 2)])
def test_durability_sets_how_sqlite_syncs(tmp_path: Path, durable: str, level: int) -> None:
    """WAL with synchronous=NORMAL survives a killed process; FULL also a power loss."""
    outbox = SQLiteOutbox(tmp_path / "outbox.sqlite3", durable=durable)
    with DataEventsClient(
        token="t", base_url="http://127.0.0.1:9", outbox=outbox, close_timeout=0
    ) as client:
        client.track(event_name="kept", user_id="u1")
        connection = client.outbox._connection()  # the connection track() committed on
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA synchronous").fetchone() == (level,)
