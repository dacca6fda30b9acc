"""Notebook HTML views (parsed with html5lib, a real HTML parser) and the pytest plugin."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import html5lib
import pytest

from intercom_events import (
    BulkResult,
    DataEvent,
    DataEventList,
    DataEventSummary,
    DataEventSummaryItem,
    FailedEvent,
    MonetaryAmount,
    NotFoundError,
    Pages,
    RichLink,
)
from intercom_events.testing import FakeIntercom

MAX_ROWS = 50  # rows an HTML table shows; the caption counts the rest
WHEN = 1_796_282_887  # 2026-12-03 07:28:07 UTC
HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
NEXT = Pages(next="https://api.intercom.io/events?before=x")


def parse(html: str) -> Element:
    """The document html5lib builds, as a browser would, without namespaces."""
    return html5lib.parse(html, treebuilder="etree", namespaceHTMLElements=False)


def text(element: Element) -> str:
    return "".join(element.itertext())


def tables(html: str) -> list[dict[str, Any]]:
    """Each table as its caption, headers and rows of cells (the ``td`` elements)."""
    found = []
    for table in parse(html).iter("table"):
        caption = table.find("caption")
        found.append(
            {
                "caption": text(caption) if caption is not None else None,
                "headers": [text(th) for th in table.iter("th")],
                "rows": [tr.findall("td") for tr in table.iterfind("tbody/tr")],
            }
        )
    return found


def only_table(html: str) -> dict[str, Any]:
    [table] = tables(html)
    return table


def column(table: dict[str, Any], header: str) -> list[Element]:
    index = table["headers"].index(header)
    return [row[index] for row in table["rows"]]


def metadata_lines(cell: Element) -> list[str]:
    return [text(div) for div in cell.findall("div")]


def test_event_list_caption_says_how_many_and_whether_more_pages_follow() -> None:
    two = (DataEvent("a", created_at=0, user_id="1"), DataEvent("b", created_at=1, user_id="1"))
    more = only_table(DataEventList(events=two, pages=NEXT)._repr_html_())
    assert more["caption"].startswith("2 events; more pages follow")
    assert len(more["rows"]) == 2
    last = only_table(DataEventList(events=two[:1], pages=Pages())._repr_html_())
    assert last["caption"] == "1 event; last page"
    assert only_table(DataEventList()._repr_html_())["caption"] == "0 events; last page"


def test_long_lists_are_cut_and_the_caption_counts_the_rest() -> None:
    page = DataEventList(
        events=tuple(DataEvent("e", created_at=n, user_id="u") for n in range(MAX_ROWS + 7))
    )
    table = only_table(page._repr_html_())
    assert len(table["rows"]) == MAX_ROWS
    assert table["caption"] == "57 events, the first 50 shown (… and 7 more); last page"


def test_text_is_escaped_never_markup() -> None:
    event = DataEvent("<i>x</i>", created_at=0, user_id=HOSTILE, metadata={HOSTILE: HOSTILE})
    document = parse(DataEventList(events=(event,))._repr_html_())
    assert list(document.iter("script")) == []
    assert list(document.iter("img")) == []
    assert list(document.iter("i")) == []
    table = only_table(DataEventList(events=(event,))._repr_html_())
    assert text(column(table, "event_name")[0]) == "<i>x</i>"
    assert text(column(table, "user_id")[0]) == HOSTILE
    assert metadata_lines(column(table, "metadata")[0]) == [f"{HOSTILE}: {HOSTILE}"]


def test_metadata_shows_as_key_value_lines() -> None:
    event = DataEvent(
        "placed-order",
        created_at=WHEN,
        user_id="42",
        metadata={"order_id": 7, "load": 3.5, "source": "web"},
    )
    table = only_table(DataEventList(events=(event,))._repr_html_())
    lines = metadata_lines(column(table, "metadata")[0])
    assert lines == ["order_id: 7", "load: 3.5", "source: web"]


def test_links_are_clickable_escaped_and_open_safely() -> None:
    url = f"https://example.com/{HOSTILE}"
    metadata: dict[str, Any] = {
        "typed": RichLink(url=url, value=HOSTILE),
        "wire": {"url": "https://example.org/a?b=1&c=2", "value": "the dude"},
        "plain": "http://example.net/x",
        "script": "javascript:alert(1)",
        "bad_wire": {"url": "javascript:alert(1)", "value": "click"},
    }
    event = DataEvent("e", created_at=0, user_id="1", metadata=metadata)
    document = parse(DataEventList(events=(event,))._repr_html_())
    anchors = list(document.iter("a"))
    assert [a.get("href") for a in anchors] == [
        url,
        "https://example.org/a?b=1&c=2",
        "http://example.net/x",
    ]
    assert [text(a) for a in anchors] == [HOSTILE, "the dude", "http://example.net/x"]
    for anchor in anchors:
        assert anchor.get("rel") == "noopener noreferrer"
        assert anchor.get("target") == "_blank"
    assert list(document.iter("script")) == []
    lines = metadata_lines(column(only_table(event._repr_html_()), "metadata")[0])
    assert lines[3:] == ["script: javascript:alert(1)", "bad_wire: click (javascript:alert(1))"]


def test_long_plain_links_are_shortened_but_point_at_the_whole_url() -> None:
    url = "https://example.com/" + "a" * 100
    event = DataEvent("e", created_at=0, user_id="1", metadata={"page": url})
    [anchor] = parse(event._repr_html_()).iter("a")
    assert anchor.get("href") == url
    assert text(anchor) == url[:59] + "…"


@pytest.mark.parametrize(
    ("money", "shown"),
    [
        (MonetaryAmount(34999, "eur"), "€349.99"),
        ({"amount": 34999, "currency": "eur"}, "€349.99"),
        (MonetaryAmount(500, "jpy"), "¥500"),
        (MonetaryAmount(123456789, "usd"), "$1,234,567.89"),
        (MonetaryAmount(1500, "kwd"), "1.500 KWD"),
        (MonetaryAmount(34999, "xyz"), "349.99 XYZ"),
        ({"amount": 5, "currency": "GBP"}, "£0.05"),
    ],
)
def test_money_is_formatted_with_its_currency(money: Any, shown: str) -> None:
    event = DataEvent("e", created_at=0, user_id="1", metadata={"price": money})
    cell = column(only_table(event._repr_html_()), "metadata")[0]
    assert metadata_lines(cell) == [f"price: {shown}"]
    [span] = [s for s in cell.iter("span") if text(s) == shown]
    assert "white-space: nowrap" in (span.get("style") or "")


def test_times_are_short_utc_and_unwrapped() -> None:
    paris = timezone(timedelta(hours=1))
    event = DataEvent(
        "e",
        created_at=datetime(2026, 12, 3, 8, 28, 7, tzinfo=paris),
        user_id="1",
        metadata={"shipped_date": WHEN, "note_date": "not a time"},
    )
    table = only_table(event._repr_html_())
    assert table["headers"][:2] == ["event_name", "created_at (UTC)"]
    times = list(parse(event._repr_html_()).iter("time"))
    assert [text(t) for t in times] == ["2026-12-03 07:28", "2026-12-03 07:28"]
    for element in times:
        assert element.get("datetime") == "2026-12-03T07:28:07+00:00"
        assert "white-space: nowrap" in (element.get("style") or "")
    lines = metadata_lines(column(table, "metadata")[0])
    assert lines == ["shipped_date: 2026-12-03 07:28", "note_date: not a time"]


def test_one_identifier_column_each_and_empty_ones_left_out() -> None:
    listed = DataEvent(
        "e", created_at=0, user_id="42", email="a@b.c", id="c1", intercom_user_id="c1"
    )
    table = only_table(DataEventList(events=(listed,))._repr_html_())
    assert table["headers"] == [
        "event_name",
        "created_at (UTC)",
        "user_id",
        "email",
        "intercom_user_id",
    ]
    assert [text(td) for td in table["rows"][0][2:]] == ["42", "a@b.c", "c1"]
    sent = only_table(DataEvent("e", id="c9")._repr_html_())
    assert sent["headers"] == ["event_name", "created_at (UTC)", "intercom_user_id"]
    assert [text(td) for td in sent["rows"][0]] == ["e", "", "c9"]
    assert sent["caption"] == "1 event"


def test_summary_html() -> None:
    summary = DataEventSummary(
        events=(
            DataEventSummaryItem(
                name="placed-order",
                count=3,
                first=datetime(2024, 1, 1, tzinfo=UTC),
                last=datetime(2024, 2, 1, 9, 5, tzinfo=UTC),
            ),
        ),
        user_id="42",
    )
    table = only_table(summary._repr_html_())
    assert table["caption"] == "events of 42: 1 event name"
    assert table["headers"] == ["name", "count", "first (UTC)", "last (UTC)"]
    assert [text(td) for td in table["rows"][0]] == [
        "placed-order",
        "3",
        "2024-01-01 00:00",
        "2024-02-01 09:05",
    ]


def test_bulk_html() -> None:
    error = NotFoundError(status_code=404, headers={}, body=b"", request_id="r1", errors=[])
    result = BulkResult(
        total=3,
        accepted=2,
        failed=[FailedEvent(DataEvent("e", user_id="u9", created_at=WHEN), error)],
    )
    totals, failed = tables(result._repr_html_())
    assert totals["caption"] == "bulk send of 3 events"
    assert totals["headers"] == ["total", "accepted", "failed"]
    assert [text(td) for td in totals["rows"][0]] == ["3", "2", "1"]
    assert failed["caption"] == "1 failed event"
    cells = [text(td) for td in failed["rows"][0]]
    assert cells[:4] == ["e", "user_id=u9", "2026-12-03 07:28", "NotFoundError"]
    assert "404" in cells[4]
    assert len(tables(BulkResult(total=1, accepted=1)._repr_html_())) == 1


def test_the_views_need_no_pandas() -> None:
    code = (
        "import sys; sys.modules['pandas'] = None\n"
        "from intercom_events import DataEvent, DataEventList\n"
        "print(DataEventList(events=(DataEvent('e', user_id='1'),))._repr_html_()[:6])\n"
        "print('pandas' in sys.modules and sys.modules['pandas'] is not None)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["<table", "False"]


def test_the_pytest_plugin_gives_users_a_fake(tmp_path: Path) -> None:
    (tmp_path / "test_users_app.py").write_text(
        textwrap.dedent(
            """
            from intercom_events import DataEventsClient

            def test_signup(fake_intercom):
                fake_intercom.add_user(user_id="42")
                with DataEventsClient(token=fake_intercom.token, base_url=fake_intercom.url) as c:
                    c.create_data_event(event_name="signed-up", user_id="42")
                assert [e["event_name"] for e in fake_intercom.events] == ["signed-up"]
            """
        )
    )
    installed = any(
        ep.value == "intercom_events.pytest_plugin"
        for ep in importlib.metadata.entry_points(group="pytest11")
    )
    plugin: list[str] = [] if installed else ["-p", "intercom_events.pytest_plugin"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin, str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_the_plugin_module_is_cheap_to_import() -> None:
    code = (
        "import sys, intercom_events.pytest_plugin\n"
        "print(sorted(m for m in ('aiohttp', 'requests', 'intercom_events.testing') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


async def test_fake_is_usable_in_async_tests() -> None:
    async with FakeIntercom() as fake:
        fake.add_user(user_id="1")
        from intercom_events import AsyncDataEventsClient

        async with AsyncDataEventsClient(token=fake.token, base_url=fake.url) as client:
            page: Any = await client.list_data_events(user_id="1")
    assert len(page) == 0
