"""Notebook views (HTML tables, DataFrames) and the pytest plugin users get."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from intercom_events import (
    BulkResult,
    DataEvent,
    DataEventList,
    DataEventSummary,
    DataEventSummaryItem,
    FailedEvent,
    NotFoundError,
    Pages,
)
from intercom_events.testing import FakeIntercom

MAX_ROWS = 50  # rows an HTML table shows before '… and N more'

PAGE = DataEventList(
    events=(
        DataEvent("placed-order", created_at=0, user_id="<b>42</b>", metadata={"n": 1}),
        DataEvent("signed-up", created_at=60, email="a@b.c"),
    ),
    pages=Pages(next="https://api.intercom.io/events?before=x"),
)
SUMMARY = DataEventSummary(
    events=(
        DataEventSummaryItem(name="placed-order", count=3, first=datetime(2024, 1, 1, tzinfo=UTC)),
    ),
    user_id="42",
)


def test_event_list_html_shows_the_data_escaped() -> None:
    html = PAGE._repr_html_()
    assert "2 events (more pages follow)" in html
    assert "&lt;b&gt;42&lt;/b&gt;" in html
    assert "<b>42</b>" not in html
    assert "1970-01-01T00:01:00+00:00" in html
    assert "a@b.c" in html


def test_long_lists_are_cut_in_html() -> None:
    page = DataEventList(events=tuple(DataEvent("e", created_at=n) for n in range(MAX_ROWS + 7)))
    html = page._repr_html_()
    assert html.count("<tr>") == MAX_ROWS + 1
    assert "and 7 more" in html
    assert "last page" in html


def test_summary_and_bulk_html() -> None:
    assert "events of 42" in SUMMARY._repr_html_()
    assert "2024-01-01T00:00:00+00:00" in SUMMARY._repr_html_()
    error = NotFoundError(status_code=404, headers={}, body=b"", request_id="r1", errors=[])
    result = BulkResult(
        total=3, accepted=2, failed=[FailedEvent(DataEvent("e", user_id="u9"), error)]
    )
    html = result._repr_html_()
    assert "<td>3</td><td>2</td><td>1</td>" in html
    assert "NotFoundError" in html
    assert "u9" in html
    assert "<caption>failed</caption>" not in BulkResult(total=1, accepted=1)._repr_html_()
    assert "<caption>failed</caption>" in html


def test_to_pandas() -> None:
    pandas = pytest.importorskip("pandas")
    frame = PAGE.to_pandas()
    assert list(frame["event_name"]) == ["placed-order", "signed-up"]
    assert frame["created_at"][1] == pandas.Timestamp("1970-01-01 00:01:00+00:00")
    assert frame["metadata.n"][0] == 1
    summary = SUMMARY.to_pandas()
    assert list(summary.columns) == ["name", "count", "first", "last", "description"]
    assert summary["count"][0] == 3


def test_to_pandas_without_pandas_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"intercom-events\[notebook\]"):
        PAGE.to_pandas()


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
        env={**__import__("os").environ, "PYTHONPATH": str(Path(__file__).parents[1])},
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
