"""Typed metadata: each kind on the wire, each refusal before sending, and properties."""

from __future__ import annotations

import asyncio
import contextlib
import json
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intercom_events import (
    AsyncDataEventsClient,
    DataEvent,
    DataEventsClient,
    IntercomEventWarning,
    InvalidEventError,
    MonetaryAmount,
    ResponseDecodeError,
    RichLink,
    flatten_metadata,
)
from intercom_events._core.converter import converter, decode_event_list, decode_summary
from intercom_events.testing import FakeIntercom

from .conftest import make_client

MOMENT = datetime(2025, 3, 1, 8, 30, tzinfo=timezone(timedelta(hours=1)))


async def test_every_kind_is_encoded_as_the_api_wants(api: Any, fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    await api.call(
        "create_data_event",
        event_name="placed-order",
        user_id="1",
        created_at=1,
        metadata={
            "source": "desktop",
            "items": 3,
            "load": 3.67,
            "placed": MOMENT,
            "contact_date": 1392036272,
            "ship_date": MOMENT,
            "article": "https://example.org/ab1de.html",
            "guide": RichLink("https://example.org/g", "the dude abides"),
            "price": MonetaryAmount.from_major("349.99", "EUR"),
            "tip": {"amount": 100, "currency": "USD"},
        },
    )
    assert fake.events[0]["metadata"] == {
        "source": "desktop",
        "items": 3,
        "load": 3.67,
        "placed": 1740814200,
        "contact_date": 1392036272,
        "ship_date": 1740814200,
        "article": "https://example.org/ab1de.html",
        "guide": {"url": "https://example.org/g", "value": "the dude abides"},
        "price": {"amount": 34999, "currency": "eur"},
        "tip": {"amount": 100, "currency": "usd"},
    }


REFUSED: list[tuple[dict[Any, Any], str, str]] = [
    ({"plan": {"name": "pro"}}, "metadata['plan']", "flatten_metadata"),
    ({"tags": ["a", "b"]}, "metadata['tags']", "flatten_metadata"),
    ({f"k{i}": i for i in range(11)}, "metadata", "drops ['k10']"),
    ({5: "five"}, "metadata", "keys must be non-empty strings"),
    ({"": "empty"}, "metadata", "keys must be non-empty strings"),
    ({"vip": True}, "metadata['vip']", "'true' or 'false'"),
    ({"gone": None}, "metadata['gone']", "leave the key out"),
    ({"blob": b"x"}, "metadata['blob']", "got bytes"),
    ({"exact": Decimal("1.5")}, "metadata['exact']", "got Decimal"),
    ({"renewal_date": "2025-01-01"}, "metadata['renewal_date']", "_date"),
    ({"renewal_date": 1.5}, "metadata['renewal_date']", "_date"),
    ({"ratio": float("nan")}, "metadata['ratio']", "finite"),
    ({"ratio": float("inf")}, "metadata['ratio']", "finite"),
    ({"when": datetime(2025, 1, 1)}, "metadata['when']", "aware"),
    ({"link": {"url": "ftp://x.org", "value": "v"}}, "metadata['link']", "http(s) URL"),
    ({"price": {"amount": -5, "currency": "eur"}}, "metadata['price']", ">= 1"),
    ({"price": {"amount": 5.5, "currency": "eur"}}, "metadata['price']", ">= 1"),
    ({"price": {"amount": 5, "currency": "euro"}}, "metadata['price']", "ISO 4217"),
    ({"text": "\ud800"}, "metadata", "not valid Unicode"),
]


@pytest.mark.parametrize(("metadata", "field", "words"), REFUSED)
async def test_refusals_name_the_key_and_the_rule_before_sending(
    api: Any, fake: FakeIntercom, metadata: dict[Any, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidEventError) as caught:
        await api.call("create_data_event", event_name="e", user_id="1", metadata=metadata)
    assert caught.value.field == field
    assert words in str(caught.value)
    assert fake.requests == []


async def test_the_key_limit_is_a_client_option(api_kind: str, fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    metadata = {f"k{i}": i for i in range(12)}
    client = make_client(api_kind, token=fake.token, base_url=fake.url, metadata_max_keys=None)
    await client.call("create_data_event", event_name="e", user_id="1", metadata=metadata)
    await client.close()
    assert len(fake.requests[0].json()["metadata"]) == 12
    assert list(fake.events[0]["metadata"]) == [f"k{i}" for i in range(10)]  # as Intercom does


@pytest.mark.parametrize(("name", "stored"), [("order.placed", "order-placed"), ("a$b", "a-b")])
async def test_names_intercom_rewrites_raise_a_warning(
    api: Any, fake: FakeIntercom, name: str, stored: str
) -> None:
    fake.add_user(user_id="1")
    with pytest.warns(IntercomEventWarning, match=repr(stored)) as caught:
        await api.call("create_data_event", event_name=name, user_id="1")
    assert caught[0].filename.endswith("conftest.py")  # the caller (our test facade), not the SDK
    assert fake.events[0]["event_name"] == name
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        await api.call("create_data_event", event_name="placed-order", user_id="1")


def test_from_major_is_exact() -> None:
    assert MonetaryAmount.from_major("349.99", "eur") == MonetaryAmount(34999, "eur")
    assert MonetaryAmount.from_major(Decimal("0.10"), "USD") == MonetaryAmount(10, "usd")
    assert MonetaryAmount.from_major(12, "eur") == MonetaryAmount(1200, "eur")
    assert MonetaryAmount.from_major("1500", "JPY") == MonetaryAmount(1500, "jpy")
    assert MonetaryAmount.from_major("1.234", "kwd") == MonetaryAmount(1234, "kwd")
    for amount, words in [
        (349.99, "not float"),
        ("1.001", "more decimals than EUR"),
        ("1.5", "more decimals than JPY"),
        ("abc", "not a number"),
        ("Infinity", "finite"),
        ("0", ">= 1"),
    ]:
        currency = "JPY" if "JPY" in words else "eur"
        with pytest.raises(InvalidEventError, match=words):
            MonetaryAmount.from_major(amount, currency)  # type: ignore[arg-type]


def test_flatten_metadata() -> None:
    assert flatten_metadata(
        {
            "plan": {"name": "pro", "limits": {"seats": 3}},
            "tags": ["a", "b"],
            "price": {"amount": 100, "currency": "eur"},
            "link": RichLink("https://e.org", "E"),
        }
    ) == {
        "plan_name": "pro",
        "plan_limits_seats": 3,
        "tags_0": "a",
        "tags_1": "b",
        "price": {"amount": 100, "currency": "eur"},
        "link": RichLink("https://e.org", "E"),
    }
    assert flatten_metadata({"a": {"b": 1}}, sep=".") == {"a.b": 1}
    with pytest.raises(InvalidEventError, match="'a_b' twice"):
        flatten_metadata({"a": {"b": 1}, "a_b": 2})


async def test_flattened_metadata_is_accepted(api: Any, fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    nested = {"plan": {"name": "pro", "seats": 3}, "tags": ["x"]}
    await api.call(
        "create_data_event", event_name="e", user_id="1", metadata=flatten_metadata(nested)
    )
    assert fake.events[0]["metadata"] == {"plan_name": "pro", "plan_seats": 3, "tags_0": "x"}


# Properties ---------------------------------------------------------------------------------

_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8))
_json = st.recursive(
    _json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=12,
)
_values = st.one_of(
    _json,
    st.datetimes(timezones=st.none() | st.just(UTC)),
    st.builds(RichLink, url=st.just("https://example.org/x"), value=st.text(max_size=8)),
    st.builds(
        MonetaryAmount, amount=st.integers(1, 10**9), currency=st.sampled_from(["eur", "USD"])
    ),
    st.fixed_dictionaries({"url": st.text(max_size=12), "value": _json_leaf}),
    st.fixed_dictionaries({"amount": _json_leaf, "currency": st.text(max_size=4)}),
    st.sets(st.integers(), max_size=2),
)
_keys = st.one_of(
    st.text(max_size=10), st.text(max_size=6).map(lambda k: k + "_date"), st.integers()
)
_metadata = st.dictionaries(_keys, _values, max_size=13)


@pytest.fixture(scope="module")
def shared_fake() -> Iterator[FakeIntercom]:
    with FakeIntercom() as server:
        server.add_user(user_id="1")
        yield server


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(metadata=_metadata)
def test_any_metadata_is_sent_and_accepted_or_refused_unsent(
    shared_fake: FakeIntercom, metadata: dict[Any, Any]
) -> None:
    fake = shared_fake
    loop = asyncio.new_event_loop()
    try:
        with DataEventsClient(token=fake.token, base_url=fake.url, max_retries=0) as sync:
            async_client = AsyncDataEventsClient(token=fake.token, base_url=fake.url, max_retries=0)
            outcomes = []
            for send in (
                lambda: sync.create_data_event(event_name="p", user_id="1", metadata=metadata),
                lambda: loop.run_until_complete(
                    async_client.create_data_event(event_name="p", user_id="1", metadata=metadata)
                ),
            ):
                before = len(fake.requests)
                try:
                    send()
                except InvalidEventError:
                    outcomes.append("refused")
                    assert len(fake.requests) == before  # nothing was sent
                else:
                    outcomes.append("accepted")  # the fake answered 202: it accepted the body
                    [request] = fake.requests[before:]
                    assert len(request.json()["metadata"]) <= 10
            loop.run_until_complete(async_client.aclose())
    finally:
        loop.close()
    assert outcomes[0] == outcomes[1]  # both clients apply the same rules


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(_json.map(lambda j: json.dumps(j).encode()), st.binary(max_size=40)))
def test_any_response_body_gives_a_model_or_a_decode_error(body: bytes) -> None:
    for decode in (decode_event_list, decode_summary):
        with contextlib.suppress(ResponseDecodeError):
            decode(200, body)


@settings(max_examples=200, deadline=None)
@given(events=st.lists(_json, max_size=4), pages=_json)
def test_event_list_shapes_give_a_model_or_a_decode_error(events: list[Any], pages: Any) -> None:
    body = json.dumps({"type": "event.list", "events": events, "pages": pages}).encode()
    with contextlib.suppress(ResponseDecodeError):
        decode_event_list(200, body)


_listed_event = st.builds(
    DataEvent,
    st.text(min_size=1, max_size=10),
    created_at=st.none() | st.integers(0, 2**31),
    user_id=st.none() | st.text(max_size=6),
    id=st.none() | st.text(max_size=6),
    email=st.none() | st.text(max_size=6),
    intercom_user_id=st.none() | st.text(max_size=6),
    metadata=st.none()
    | st.dictionaries(
        st.text(max_size=5),
        st.one_of(
            st.text(max_size=5),
            st.integers(),
            st.fixed_dictionaries({"url": st.just("https://e.org"), "value": st.text(max_size=3)}),
        ),
        max_size=4,
    ),
)


@settings(max_examples=200, deadline=None)
@given(event=_listed_event)
def test_data_event_round_trips_through_the_converter(event: DataEvent) -> None:
    wire = json.dumps({"type": "event.list", "events": [converter.unstructure(event)]}).encode()
    assert decode_event_list(200, wire).events == (event,)
