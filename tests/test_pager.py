"""The pagers ``iter_data_events`` returns, on both clients, against the fake.

Each behaviour is one ``async def`` run on the sync and the async client (``api`` / ``api_kind``
in conftest); the helpers below take from either pager the way its users would (``next`` or
``await anext``, ``to_pandas()`` or ``await to_pandas()``).
"""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from intercom_events import (
    AsyncDataEventPager,
    DataEvent,
    DataEventList,
    DataEventPager,
    IntercomError,
    InternalServerError,
    InvalidEventError,
)
from intercom_events.testing import FakeIntercom

from .conftest import RECENT, make_client

Pager = DataEventPager | AsyncDataEventPager


async def take(pager: Pager) -> DataEvent | None:
    """The next event (None at the end), as each pager's users take it."""
    if isinstance(pager, AsyncDataEventPager):
        return await anext(pager, None)
    return next(pager, None)


async def rest(pager: Pager) -> list[DataEvent]:
    """Every event left, with ``for`` or ``async for``."""
    if isinstance(pager, AsyncDataEventPager):
        return [event async for event in pager]
    return list(pager)


async def frame(pager: Pager, **kwargs: Any) -> Any:
    result = pager.to_pandas(**kwargs)
    return await result if inspect.isawaitable(result) else result


async def store(api: Any, count: int, *, user_id: str = "1") -> list[int]:
    """``count`` events for ``user_id`` through the client; their times, newest first."""
    for n in range(count):
        await api.call(
            "create_data_event",
            event_name="paged",
            user_id=user_id,
            created_at=RECENT + n,
            metadata={"n": n},
        )
    return [RECENT + n for n in reversed(range(count))]


def gets(fake: FakeIntercom) -> int:
    return sum(1 for r in fake.requests if r.method == "GET")


async def test_iter_data_events_returns_a_lazy_pager(api: Any, fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    pager = api.client.iter_data_events(user_id="1", per_page=2)
    if api.kind == "sync":
        assert isinstance(pager, DataEventPager)
        assert isinstance(pager, Iterator)
        assert iter(pager) is pager
    else:
        assert isinstance(pager, AsyncDataEventPager)
        assert isinstance(pager, AsyncIterator)
        assert aiter(pager) is pager
    assert fake.requests == []  # nothing is asked for until an event is
    assert (pager.pages_fetched, pager.last_page, pager.done) == (0, None, False)
    assert repr(pager) == f"{type(pager).__name__}(pages_fetched=0, done=False)"


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"user_id": "1", "email": "a@b.c"},
        {"user_id": "1", "per_page": 0},
        {"user_id": "1", "per_page": True},
        {"email": ""},
    ],
)
async def test_bad_arguments_raise_at_the_call_before_any_request(
    api: Any, fake: FakeIntercom, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(InvalidEventError):
        api.client.iter_data_events(**kwargs)  # the call itself, not the first next()
    assert fake.requests == []


async def test_events_come_one_page_at_a_time_and_pages_are_counted(
    api: Any, fake: FakeIntercom
) -> None:
    fake.add_user(user_id="1")
    times = await store(api, 5)
    pager = api.client.iter_data_events(user_id="1", per_page=2)
    first = await take(pager)
    assert first is not None
    assert first.created_at == times[0]
    assert (gets(fake), pager.pages_fetched) == (1, 1)
    assert isinstance(pager.last_page, DataEventList)
    assert pager.last_page.pages is not None
    assert pager.last_page.pages.next is not None
    second = await take(pager)
    assert second is not None
    assert second.created_at == times[1]
    assert (gets(fake), pager.done) == (1, False)  # the page in hand is used up first
    third = await take(pager)
    assert third is not None
    assert third.created_at == times[2]
    assert (gets(fake), pager.pages_fetched) == (2, 2)
    assert [e.created_at for e in await rest(pager)] == times[3:]
    assert (pager.pages_fetched, pager.done) == (3, True)
    assert pager.last_page.pages is None or pager.last_page.pages.next is None
    assert await take(pager) is None  # ended for good: no request to find that out
    assert gets(fake) == 3
    assert repr(pager) == f"{type(pager).__name__}(pages_fetched=3, done=True)"


async def test_to_pandas_pages_through_the_events_left(api: Any, fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    times = await store(api, 7)
    pager = api.client.iter_data_events(user_id="1", per_page=3)
    taken = [await take(pager), await take(pager)]
    assert [e.created_at for e in taken if e is not None] == times[:2]
    table = await frame(pager)
    assert len(table) == 5  # those not yet taken, from the rest of page 1 and pages 2 and 3
    assert [t.timestamp() for t in table["created_at"]] == times[2:]
    assert list(table["event_name"]) == ["paged"] * 5
    assert list(table["metadata.n"]) == [4, 3, 2, 1, 0]
    assert (pager.pages_fetched, pager.done, gets(fake)) == (3, True, 3)
    empty = await frame(pager)  # nothing left: an empty frame, and no request
    assert len(empty) == 0
    assert "event_name" in empty.columns
    assert gets(fake) == 3


async def test_to_pandas_progress_counts_pages(
    api: Any, fake: FakeIntercom, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_user(user_id="1")
    await store(api, 7)
    capsys.readouterr()
    pager = api.client.iter_data_events(user_id="1", per_page=3)
    table = await frame(pager, progress=True)
    assert len(table) == 7
    err = capsys.readouterr().err
    assert "listing" in err
    assert "3page" in err.replace(" ", "")
    assert "events=7" in err
    plain = api.client.iter_data_events(user_id="1", per_page=3)
    await frame(plain)
    assert capsys.readouterr().err == ""  # no bar unless asked


async def test_a_failed_page_leaves_the_pager_where_it_was(api_kind: str) -> None:
    with FakeIntercom() as fake:
        fake.add_user(user_id="1")
        api = make_client(api_kind, token=fake.token, base_url=fake.url, max_retries=0)
        try:
            times = await store(api, 5)
            pager = api.client.iter_data_events(user_id="1", per_page=2)
            taken = [await take(pager), await take(pager)]
            fake.inject("500", first=1)
            with pytest.raises(InternalServerError):
                await take(pager)
            assert pager.pages_fetched == 1
            again = await take(pager)  # the same page asked for again, nothing skipped
            taken += [again, *await rest(pager)]
        finally:
            await api.close()
    assert [e.created_at for e in taken if e is not None] == times
    assert pager.pages_fetched == 3


async def test_a_refused_next_link_is_refused_again(api_kind: str, fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    port = fake.url.rsplit(":", 1)[1]
    # The client knows the server as "localhost"; the fake's pages.next says 127.0.0.1.
    api = make_client(api_kind, token=fake.token, base_url=f"http://localhost:{port}")
    try:
        await store(api, 3)
        pager = api.client.iter_data_events(user_id="1", per_page=2)
        assert await take(pager) is not None
        assert await take(pager) is not None
        for _ in range(2):  # not skipped on a second try: the token stays home
            with pytest.raises(IntercomError, match="another origin"):
                await take(pager)
    finally:
        await api.close()
    assert gets(fake) == 1


async def test_consumers_sharing_a_pager_get_each_event_once(api: Any, fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    times = await store(api, 30)
    pager = api.client.iter_data_events(user_id="1", per_page=4)
    seen: list[list[DataEvent]] = [[] for _ in range(4)]
    if isinstance(pager, AsyncDataEventPager):

        async def consume(into: list[DataEvent]) -> None:
            async for event in pager:
                into.append(event)
                await asyncio.sleep(0)

        await asyncio.gather(*(consume(into) for into in seen))
    else:

        def drain(into: list[DataEvent]) -> None:
            into.extend(pager)

        threads = [threading.Thread(target=drain, args=(into,)) for into in seen]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    every = [e.created_at for into in seen for e in into]
    assert sorted(every, reverse=True) == times  # each event once, none lost
    assert (gets(fake), pager.pages_fetched) == (8, 8)  # each page asked for once


def test_pandas_loads_with_the_first_frame_only() -> None:
    code = (
        "import sys, time\n"
        "import intercom_events\n"
        "from intercom_events.testing import FakeIntercom\n"
        "with FakeIntercom() as fake:\n"
        "    fake.add_user(user_id='1')\n"
        "    with intercom_events.DataEventsClient(token=fake.token, base_url=fake.url) as c:\n"
        "        c.create_data_event(event_name='e', user_id='1')\n"
        "        pager = c.iter_data_events(user_id='1')\n"
        "        assert len(list(pager)) == 1\n"
        "        assert 'pandas' not in sys.modules, 'iterating'\n"
        "        c.iter_data_events(user_id='1').to_pandas()\n"
        "        assert 'pandas' in sys.modules\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "ok", done.stderr
