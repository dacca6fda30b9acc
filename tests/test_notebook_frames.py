"""DataFrames of events and summaries: real dtypes, asserted column by column."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from intercom_events import (
    DataEvent,
    DataEventList,
    DataEventsClient,
    DataEventSummary,
    DataEventSummaryItem,
    MonetaryAmount,
    RichLink,
)
from intercom_events._notebook import events_frame
from intercom_events.testing import FakeIntercom

from .conftest import RECENT

pandas = pytest.importorskip("pandas")

TIME = "datetime64[ns, UTC]"
EVENT_DTYPES = {
    "event_name": "string",
    "created_at": TIME,
    "user_id": "string",
    "email": "string",
    "intercom_user_id": "string",
}
WHEN = 1_796_282_887  # 2026-12-03 07:28:07 UTC


def dtypes(frame: Any) -> dict[str, str]:
    return {name: str(dtype) for name, dtype in frame.dtypes.items()}


def utc(seconds: int) -> Any:
    return pandas.Timestamp(seconds, unit="s", tz="UTC")


EVENTS = (
    DataEvent(
        "placed-order",
        created_at=WHEN,
        user_id="42",
        email="a@b.c",
        id="c1",
        intercom_user_id="c1",
        metadata={
            "order_id": 1,
            "load": 2,
            "price": MonetaryAmount(34999, "eur"),
            "receipt": RichLink(url="https://example.com/r/1", value="receipt"),
            "shipped_date": WHEN + 60,
            "source": "web",
            "gift": True,
        },
    ),
    DataEvent(
        "placed-order",
        created_at=datetime(2026, 12, 3, 8, 0, tzinfo=timezone(timedelta(hours=1))),
        id="c2",
        metadata={
            "load": 2.5,
            "price": {"amount": 500, "currency": "jpy"},
            "receipt": {"url": "https://example.com/r/2", "value": "second"},
            "shipped_date": datetime(2026, 12, 4, tzinfo=UTC),
            "gift": False,
        },
    ),
    DataEvent("signed-in", user_id="43"),
)


def test_event_frame_dtypes_column_by_column() -> None:
    frame = DataEventList(events=EVENTS).to_pandas()
    assert dtypes(frame) == {
        **EVENT_DTYPES,
        "metadata.order_id": "Int64",
        "metadata.load": "Float64",
        "metadata.price.amount": "Int64",
        "metadata.price.currency": "string",
        "metadata.receipt.url": "string",
        "metadata.receipt.value": "string",
        "metadata.shipped_date": TIME,
        "metadata.source": "string",
        "metadata.gift": "boolean",
    }
    assert not frame.columns.duplicated().any()
    assert "id" not in frame.columns


def test_event_frame_values_and_missing_ones() -> None:
    frame = events_frame(EVENTS)
    assert list(frame["event_name"]) == ["placed-order", "placed-order", "signed-in"]
    assert list(frame["created_at"][:2]) == [utc(WHEN), utc(WHEN - 1687)]
    assert frame["created_at"].isna().tolist() == [False, False, True]
    assert list(frame["intercom_user_id"][:2]) == ["c1", "c2"]  # listed (both) and sent (id)
    assert frame["intercom_user_id"][2] is pandas.NA
    assert frame["metadata.order_id"][0] == 1
    assert frame["metadata.order_id"][1] is pandas.NA
    assert list(frame["metadata.load"][:2]) == [2.0, 2.5]
    assert list(frame["metadata.price.amount"][:2]) == [34999, 500]
    assert list(frame["metadata.price.currency"][:2]) == ["eur", "jpy"]
    assert frame["metadata.price.amount"][2] is pandas.NA
    assert list(frame["metadata.receipt.url"][:2]) == [
        "https://example.com/r/1",
        "https://example.com/r/2",
    ]
    assert list(frame["metadata.receipt.value"][:2]) == ["receipt", "second"]
    assert frame["metadata.shipped_date"][0] == utc(WHEN + 60)
    assert frame["metadata.shipped_date"][1] == pandas.Timestamp("2026-12-04", tz="UTC")
    assert frame["metadata.shipped_date"][2] is pandas.NaT
    assert frame["metadata.source"][1] is pandas.NA
    assert list(frame["metadata.gift"][:2]) == [True, False]


def test_an_empty_input_has_the_event_columns_and_dtypes() -> None:
    for frame in (events_frame([]), DataEventList().to_pandas(), events_frame(iter(()))):
        assert len(frame) == 0
        assert dtypes(frame) == EVENT_DTYPES


def test_events_frame_reads_any_iterable_once() -> None:
    frame = events_frame(event for event in EVENTS[2:])
    assert list(frame["user_id"]) == ["43"]


@pytest.mark.parametrize(
    ("values", "dtype", "expected"),
    [
        ([1, None, 3], "Int64", [1, pandas.NA, 3]),
        ([1, 2.5], "Float64", [1.0, 2.5]),
        (["a", None], "string", ["a", pandas.NA]),
        ([True, None], "boolean", [True, pandas.NA]),
        (["a", 1], "object", ["a", 1]),  # mixed kinds stay as given
        ([2**70, 1], "object", [2**70, 1]),  # past Int64
        ([{"amount": 1.5, "currency": "eur"}], "object", [{"amount": 1.5, "currency": "eur"}]),
    ],
)
def test_metadata_dtype_by_the_values_a_key_holds(
    values: list[Any], dtype: str, expected: list[Any]
) -> None:
    events = [DataEvent("e", metadata={} if v is None else {"k": v}) for v in values]
    frame = events_frame(events)
    assert str(frame["metadata.k"].dtype) == dtype
    got = frame["metadata.k"].tolist()
    assert len(got) == len(expected)
    for value, want in zip(got, expected, strict=True):
        assert value is pandas.NA if want is pandas.NA else value == want


def test_date_keys_from_the_wire_become_utc_times() -> None:
    listed = [
        DataEvent("e", metadata={"paid_date": "2026-12-03T08:28:07+01:00", "seen_date": 5}),
        DataEvent("e", metadata={"paid_date": str(WHEN), "seen_date": "not a time"}),
    ]
    frame = events_frame(listed)
    assert str(frame["metadata.paid_date"].dtype) == TIME
    assert list(frame["metadata.paid_date"]) == [utc(WHEN), utc(WHEN)]
    # a key that only looks like a date keeps its values as they came
    assert str(frame["metadata.seen_date"].dtype) == "object"
    assert list(frame["metadata.seen_date"]) == [5, "not a time"]


def test_times_past_what_a_frame_holds_are_kept_as_given() -> None:
    far = 10**11  # Unix seconds in the year 5138: a datetime, but not a datetime64[ns]
    frame = events_frame(
        [
            DataEvent("e", created_at=far, metadata={"x_date": far}),
            DataEvent("e", created_at=WHEN, metadata={"x_date": 5}),
        ]
    )
    assert str(frame["created_at"].dtype) == "object"
    assert list(frame["created_at"]) == [far, WHEN]
    assert str(frame["metadata.x_date"].dtype) == "Int64"
    assert list(frame["metadata.x_date"]) == [far, 5]


def test_split_columns_never_collide_with_another_key() -> None:
    events = [DataEvent("e", metadata={"price": MonetaryAmount(100, "usd"), "price.amount": 7})]
    frame = events_frame(events)
    assert list(frame.columns[5:]) == [
        "metadata.price.amount",
        "metadata.price.currency",
        "metadata.price.amount#2",
    ]
    assert frame["metadata.price.amount"][0] == 100
    assert frame["metadata.price.amount#2"][0] == 7


def test_summary_frame_dtypes() -> None:
    summary = DataEventSummary(
        events=(
            DataEventSummaryItem(
                name="placed-order",
                count=3,
                first=datetime(2024, 1, 1, tzinfo=UTC),
                last=datetime(2024, 1, 2, 1, tzinfo=timezone(timedelta(hours=1))),
            ),
            DataEventSummaryItem(name="signed-in"),
        ),
        user_id="42",
    )
    frame = summary.to_pandas()
    expected = {
        "name": "string",
        "count": "Int64",
        "first": TIME,
        "last": TIME,
        "description": "string",
    }
    assert dtypes(frame) == expected
    assert frame["count"].tolist() == [3, pandas.NA]
    assert frame["first"][0] == pandas.Timestamp("2024-01-01", tz="UTC")
    assert frame["last"][0] == pandas.Timestamp("2024-01-02", tz="UTC")
    assert frame["last"][1] is pandas.NaT
    assert frame["description"][0] is pandas.NA
    assert dtypes(DataEventSummary().to_pandas()) == expected


def test_listed_events_from_the_fake_keep_their_types(fake: FakeIntercom) -> None:
    contact = fake.add_user(user_id="42")
    with DataEventsClient(token=fake.token, base_url=fake.url) as client:
        client.create_data_event(
            event_name="placed-order",
            user_id="42",
            created_at=RECENT,
            metadata={
                "order_id": 9,
                "price": MonetaryAmount.from_major("349.99", "eur"),
                "receipt": RichLink(url="https://example.com/r/9", value="receipt"),
                "paid_date": RECENT - 60,
            },
        )
        client.create_data_event(event_name="signed-in", user_id="42", created_at=RECENT + 1)
        frame = client.list_data_events(user_id="42").to_pandas()
        summary = client.list_data_events(user_id="42", summary=True).to_pandas()
    assert dtypes(frame) == {
        **EVENT_DTYPES,
        "metadata.order_id": "Int64",
        "metadata.price.amount": "Int64",
        "metadata.price.currency": "string",
        "metadata.receipt.url": "string",
        "metadata.receipt.value": "string",
        "metadata.paid_date": TIME,
    }
    assert list(frame["event_name"]) == ["signed-in", "placed-order"]  # newest first
    assert list(frame["intercom_user_id"]) == [contact, contact]
    assert frame["metadata.order_id"].tolist() == [pandas.NA, 9]
    assert frame["metadata.price.amount"][1] == 34999
    assert frame["metadata.paid_date"][1] == utc(RECENT - 60)
    assert dtypes(summary)["first"] == TIME
    assert sorted(summary["count"].tolist()) == [1, 1]


def test_to_pandas_without_pandas_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"intercom-events\[notebook\]"):
        DataEventList(events=EVENTS).to_pandas()
    with pytest.raises(ImportError, match=r"intercom-events\[notebook\]"):
        DataEventSummary().to_pandas()
    with pytest.raises(ImportError, match=r"intercom-events\[notebook\]"):
        events_frame([])
