"""The three operations over real HTTP against the fake: exact wire form and decoding."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from intercom_events import (
    DataEvent,
    DataEventList,
    DataEventSummary,
    EventSummary,
    IntercomHttpResponse,
    MonetaryAmount,
    RequestOptions,
    RichLink,
    __version__,
)
from intercom_events.testing import FakeIntercom

from .conftest import RECENT, TOKEN


async def test_create_sends_the_exact_wire_form(api: Any, fake: FakeIntercom) -> None:
    fake.add_user(user_id="314159")
    sent = await api.call(
        "create_data_event",
        event_name="placed-order",
        user_id="314159",
        created_at=1671028894,
        metadata={"order_id": 42, "price": MonetaryAmount(34999, "EUR")},
    )
    [request] = fake.requests
    assert (request.method, request.path, request.query_string) == ("POST", "/events", "")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Intercom-Version"] == "2.14"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith(f"intercom-events/{__version__} python/3.")
    library = "requests/" if api.kind == "sync" else "aiohttp/"
    assert library in request.headers["User-Agent"]
    assert json.loads(request.body) == {
        "event_name": "placed-order",
        "created_at": 1671028894,
        "user_id": "314159",
        "metadata": {"order_id": 42, "price": {"amount": 34999, "currency": "eur"}},
    }
    assert sent == DataEvent(
        "placed-order",
        created_at=1671028894,
        user_id="314159",
        metadata={"order_id": 42, "price": MonetaryAmount(34999, "eur")},
    )
    assert fake.events == [json.loads(request.body)]


async def test_create_pins_created_at_once_and_returns_it(api: Any, fake: FakeIntercom) -> None:
    fake.add_user(email="ada@example.com")
    before = int(datetime.now(UTC).timestamp())
    sent = await api.call("create_data_event", event_name="signed-in", email="ada@example.com")
    assert before <= sent.created_at <= before + 5
    assert fake.requests[0].json()["created_at"] == sent.created_at
    # Sending the returned event again is absorbed by Intercom's de-duplication.
    await api.call(
        "create_data_event",
        event_name=sent.event_name,
        email=sent.email,
        created_at=sent.created_at,
    )
    assert len(fake.events) == 1


async def test_create_accepts_aware_datetimes_and_rich_links(api: Any, fake: FakeIntercom) -> None:
    contact = fake.add_user(user_id="u1")
    moment = datetime(2024, 5, 1, 12, 0, 30, tzinfo=UTC)
    await api.call(
        "create_data_event",
        event_name="read-article",
        id=contact,
        created_at=moment,
        metadata={
            "article": RichLink("https://example.org/a.html", "A"),
            "shipped_date": moment,
            "plain": {"url": "https://example.org/b", "value": "B"},
        },
    )
    assert fake.events[0] == {
        "event_name": "read-article",
        "created_at": 1714564830,
        "id": contact,
        "metadata": {
            "article": {"url": "https://example.org/a.html", "value": "A"},
            "shipped_date": 1714564830,
            "plain": {"url": "https://example.org/b", "value": "B"},
        },
    }


@pytest.mark.parametrize(
    ("field", "value", "query"),
    [
        ("email", "a+b@x.com", "type=user&email=a%2Bb%40x.com"),
        ("user_id", "u&type=admin", "type=user&user_id=u%26type%3Dadmin"),
        ("user_id", "ünï cödé/?#", "type=user&user_id=%C3%BCn%C3%AF%20c%C3%B6d%C3%A9%2F%3F%23"),
    ],
)
async def test_awkward_identifiers_are_percent_encoded(
    api: Any, fake: FakeIntercom, field: str, value: str, query: str
) -> None:
    fake.add_user(**{field: value})
    await api.call(
        "create_data_event", event_name="tested-encoding", created_at=RECENT, **{field: value}
    )
    page = await api.call("list_data_events", per_page=5, **{field: value})
    assert fake.requests[-1].query_string == query + "&per_page=5"
    assert fake.requests[-1].query[field] == [value]
    assert [getattr(e, field) for e in page.events] == [value]


async def test_list_decodes_events_and_pages(api: Any, fake: FakeIntercom) -> None:
    contact = fake.add_user(user_id="42", email="x@example.com")
    for second in range(3):
        await api.call(
            "create_data_event",
            event_name="ran-test",
            user_id="42",
            created_at=RECENT + second,
            metadata={"n": second},
        )
    page = await api.call("list_data_events", user_id="42", per_page=2)
    assert isinstance(page, DataEventList)
    assert fake.requests[-1].method == "GET"
    assert fake.requests[-1].path == "/events"
    assert fake.requests[-1].query_string == "type=user&user_id=42&per_page=2"
    assert [e.created_at for e in page.events] == [RECENT + 2, RECENT + 1]
    first = page.events[0]
    assert (first.event_name, first.id, first.user_id, first.email) == (
        "ran-test",
        contact,
        "42",
        "x@example.com",
    )
    assert first.metadata == {"n": 2}
    assert page.pages is not None
    assert page.pages.next is not None
    assert page.pages.next.startswith(fake.url + "/events?")


async def test_iter_follows_more_than_three_pages(api: Any, fake: FakeIntercom) -> None:
    fake.add_user(email="pager@example.com")
    for second in range(9):
        await api.call(
            "create_data_event",
            event_name="paged",
            email="pager@example.com",
            created_at=RECENT + second,
        )
    seen = await api.collect(email="pager@example.com", per_page=2)
    assert [e.created_at for e in seen] == [RECENT + n for n in range(8, -1, -1)]
    gets = [r for r in fake.requests if r.method == "GET"]
    assert len(gets) == 5
    assert "before" not in gets[0].query
    assert all("before" in r.query for r in gets[1:])


async def test_summary_is_typed(api: Any, fake: FakeIntercom) -> None:
    contact = fake.add_user(user_id="7")
    for t in (1_700_000_000, 1_700_000_100):
        await api.call("create_data_event", event_name="paid", user_id="7", created_at=t)
    summary = await api.call("list_data_events", intercom_user_id=contact, summary=True)
    assert fake.requests[-1].query_string == f"type=user&intercom_user_id={contact}&summary=true"
    assert isinstance(summary, DataEventSummary)
    [item] = summary.events
    assert (item.name, item.count) == ("paid", 2)
    assert item.first == datetime.fromtimestamp(1_700_000_000, UTC)
    assert item.last == datetime.fromtimestamp(1_700_000_100, UTC)
    assert item.first is not None
    assert item.first.tzinfo is not None


async def test_create_summaries_wire_form(api: Any, fake: FakeIntercom) -> None:
    fake.add_user(user_id="9")
    first = datetime(2020, 1, 1, tzinfo=UTC)
    result = await api.call(
        "create_data_event_summaries",
        user_id="9",
        event_summaries=[EventSummary("invited-friend", count=3, first=first, last=1577836900)],
    )
    assert result is None
    [request] = fake.requests
    assert (request.method, request.path) == ("POST", "/events/summaries")
    assert request.json() == {
        "user_id": "9",
        "event_summaries": {
            "event_name": "invited-friend",
            "count": 3,
            "first": 1577836800,
            "last": 1577836900,
        },
    }
    two = [EventSummary("a", count=1, first=1, last=2), EventSummary("b", count=2, first=3, last=4)]
    await api.call("create_data_event_summaries", user_id="9", event_summaries=two)
    assert [s["event_name"] for s in fake.requests[-1].json()["event_summaries"]] == ["a", "b"]
    summary = await api.call("list_data_events", user_id="9", summary=True)
    assert {i.name: i.count for i in summary.events} == {"invited-friend": 3, "a": 1, "b": 2}


async def test_raw_response_carries_status_headers_and_request_id(
    api: Any, fake: FakeIntercom
) -> None:
    fake.add_user(user_id="1")
    raw = await api.raw("create_data_event", event_name="x-ed", user_id="1", created_at=RECENT)
    assert isinstance(raw, IntercomHttpResponse)
    assert raw.status_code == 202
    assert raw.data.created_at == RECENT
    assert raw.request_id
    assert raw.headers["x-request-id"] == raw.headers["X-REQUEST-ID"] == raw.request_id
    assert raw.retries_taken == 0
    assert raw.rate_limit is None  # the fake sends no X-RateLimit-* without a limit
    listed = await api.raw("list_data_events", user_id="1")
    assert listed.status_code == 200
    assert isinstance(listed.data, DataEventList)
    assert len(listed.data) == 1


async def test_raw_response_reads_the_rate_limit(api_kind: str) -> None:
    from .conftest import make_client

    with FakeIntercom(rate_limit=100) as fake:
        fake.add_user(user_id="1")
        client = make_client(api_kind, token=fake.token, base_url=fake.url)
        raw = await client.raw("list_data_events", user_id="1")
        await client.close()
    assert raw.rate_limit is not None
    assert (raw.rate_limit.limit, raw.rate_limit.remaining) == (100, 99)
    assert raw.rate_limit.reset_at.tzinfo is not None


async def test_request_options_add_headers_query_and_override_version(
    api: Any, fake: FakeIntercom
) -> None:
    fake.add_user(user_id="1")
    options = RequestOptions(
        additional_headers={"X-Trace": "abc"}, additional_query_parameters={"x": "1 2"}
    )
    await api.call("list_data_events", user_id="1", request_options=options)
    request = fake.requests[-1]
    assert request.headers["X-Trace"] == "abc"
    assert request.query_string == "type=user&user_id=1&x=1%202"


async def test_intercom_version_is_configurable(api_kind: str, fake: FakeIntercom) -> None:
    from .conftest import make_client

    fake.add_user(user_id="1")
    client = make_client(
        api_kind,
        token=fake.token,
        base_url=fake.url,
        intercom_version="Preview",
        headers={"X-App": "demo"},
    )
    await client.call("list_data_events", user_id="1")
    await client.close()
    assert fake.requests[0].headers["Intercom-Version"] == "Preview"
    assert fake.requests[0].headers["X-App"] == "demo"


async def test_iter_reads_one_page_at_a_time(api_kind: str, fake: FakeIntercom) -> None:
    import requests

    fake.add_user(user_id="many")
    with requests.Session() as session:  # fill the fake directly: 600 events
        for n in range(600):
            session.post(
                f"{fake.url}/events",
                json={"event_name": "e", "created_at": RECENT + n, "user_id": "many"},
                headers={"Authorization": f"Bearer {fake.token}"},
                timeout=5,
            ).raise_for_status()
    from .conftest import make_client

    client = make_client(api_kind, token=fake.token, base_url=fake.url)
    pages_before = len(fake.requests)
    iterator = client.client.iter_data_events(user_id="many", per_page=50)
    taken = []
    if api_kind == "sync":
        for event in iterator:
            taken.append(event)
            if len(taken) == 60:
                break
        assert len(fake.requests) - pages_before == 2  # one page at a time, on demand
        rest = sum(1 for _ in iterator)
    else:
        async for event in iterator:
            taken.append(event)
            if len(taken) == 60:
                break
        assert len(fake.requests) - pages_before == 2  # one page at a time, on demand
        rest = 0
        async for _ in iterator:
            rest += 1
    await client.close()
    assert len(fake.requests) - pages_before == 12
    assert len(taken) + rest == 600
