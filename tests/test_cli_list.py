"""``intercom-events list`` and ``summaries`` as a user runs them, against the fake.

Driven through the CLI's real entry: ``main()`` in-process, and ``python -m intercom_events``
in a subprocess (with a pseudo-terminal for the progress bar) for the long listing.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import struct
import subprocess
import sys
import termios
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from intercom_events import DataEventsClient, MonetaryAmount, RichLink
from intercom_events.cli import main
from intercom_events.cli._importer import read_events
from intercom_events.testing import FakeIntercom

from .conftest import RECENT


def run(fake: FakeIntercom, *args: str) -> int:
    return main(["--base-url", fake.url, "--token", fake.token, *args])


def fill(fake: FakeIntercom, count: int, *, user_id: str = "1", **metadata: Any) -> list[int]:
    """``count`` events for ``user_id``, sent with the client; their times, newest first."""
    with DataEventsClient(token=fake.token, base_url=fake.url) as client:
        for n in range(count):
            client.create_data_event(
                event_name="paged",
                user_id=user_id,
                created_at=RECENT + n,
                metadata={"n": n, **metadata},
            )
    return [RECENT + n for n in reversed(range(count))]


def gets(fake: FakeIntercom) -> list[Any]:
    return [r for r in fake.requests if r.method == "GET"]


def cli(fake: FakeIntercom) -> list[str]:
    """The command line up to the command, for a subprocess."""
    return [sys.executable, "-m", "intercom_events", "--base-url", fake.url, "--token", fake.token]


TWELVE_PAGES = 58
"""Events at ``--per-page 5``: eleven full pages and a last one of three."""


def test_list_all_over_12_pages_returns_every_event_once(fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    times = fill(fake, TWELVE_PAGES)
    before = len(gets(fake))
    done = subprocess.run(
        [*cli(fake), "--json", "list", "--user-id", "1", "--per-page", "5", "--all"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert listed["type"] == "event.list"
    assert [e["created_at"] for e in listed["events"]] == times  # each once, newest first
    assert {e["metadata"]["n"] for e in listed["events"]} == set(range(TWELVE_PAGES))
    assert listed["pages"] == {}  # the last page's: no next
    pages = gets(fake)[before:]
    assert len(pages) == 12
    assert all("before" in r.query for r in pages[1:])
    assert done.stderr == ""  # not a terminal: no bar, and nothing more to hint at


def test_list_all_shows_a_bar_counting_pages_on_a_terminal(fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    fill(fake, TWELVE_PAGES)
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    process = subprocess.Popen(
        [*cli(fake), "list", "--user-id", "1", "--per-page", "5", "--all"],
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    out, _ = process.communicate(timeout=60)
    os.close(leader)
    assert process.returncode == 0
    assert "listing" in shown.decode()
    assert "12page" in shown.decode().replace(" ", "")
    assert len(out.splitlines()) == 2 + TWELVE_PAGES  # header, ruler, one line an event


def test_one_page_with_a_hint_when_more_follow(
    fake: FakeIntercom, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_user(user_id="1")
    times = fill(fake, 7)
    when = datetime.fromtimestamp(times[0], UTC).isoformat()
    assert run(fake, "list", "--user-id", "1", "--per-page", "3") == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 2 + 3
    assert f"paged  {when}" in out  # ISO 8601 with its offset, in tables
    assert when.endswith("+00:00")
    assert err.strip() == "more pages follow: --all"
    assert len(gets(fake)) == 1
    assert run(fake, "list", "--user-id", "1", "--per-page", "10") == 0
    out, err = capsys.readouterr()
    assert (len(out.splitlines()), err) == (2 + 7, "")  # all on one page: no hint


@pytest.mark.parametrize(
    ("limit", "listed", "pages", "hint"),
    [
        (5, 5, 2, True),  # stops inside page 2
        (6, 6, 2, True),  # stops at the end of page 2, which links to page 3
        (7, 7, 3, False),  # every event
        (50, 7, 3, False),  # fewer than asked for
    ],
)
def test_limit_follows_pages_up_to_n_events(
    fake: FakeIntercom,
    capsys: pytest.CaptureFixture[str],
    limit: int,
    listed: int,
    pages: int,
    hint: bool,
) -> None:
    fake.add_user(user_id="1")
    times = fill(fake, 7)
    before = len(gets(fake))
    assert (
        run(fake, "--json", "list", "--user-id", "1", "--per-page", "3", "--limit", str(limit)) == 0
    )
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert [e["created_at"] for e in result["events"]] == times[:listed]
    assert len(gets(fake)) - before == pages  # no page beyond the one holding the last event
    assert ("next" in result["pages"]) is (pages < 3)
    assert ("more events follow" in err) is hint


def test_json_keeps_the_pages_object(
    fake: FakeIntercom, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_user(user_id="1")
    times = fill(fake, 5)
    assert run(fake, "--json", "list", "--user-id", "1", "--per-page", "2") == 0
    page = json.loads(capsys.readouterr().out)
    assert set(page) == {"type", "events", "pages"}
    assert page["type"] == "event.list"
    assert [e["created_at"] for e in page["events"]] == times[:2]  # Unix seconds in JSON
    next_link = page["pages"]["next"]
    assert next_link.startswith(f"{fake.url}/events?")
    assert "before=" in next_link
    assert run(fake, "list", "--user-id", "1", "--per-page", "2", "--all", "--json") == 0
    everything = json.loads(capsys.readouterr().out)
    assert [e["created_at"] for e in everything["events"]] == times
    assert (everything["type"], everything["pages"]) == ("event.list", {})


def test_csv_has_the_importers_columns_and_reads_back(
    fake: FakeIntercom, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fake.add_user(user_id="1", email="a@b.c")
    extras: dict[str, Any] = {
        "ratio": 0.5,
        "note": 'hello, "world"',
        "code": "007",  # text that the importer keeps as text
        "zip": "02134",
        "count_text": "42",  # text that a cell would turn into a number: kept in JSON
        "price": MonetaryAmount(34999, "eur"),
        "link": RichLink(url="https://example.com/o/1", value="order 1"),
    }
    times = fill(fake, 5, **extras)
    assert run(fake, "list", "--user-id", "1", "--per-page", "2", "--all", "--csv") == 0
    out, err = capsys.readouterr()
    assert err == ""
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == [
        "event_name",
        "created_at",
        "user_id",
        "metadata.n",
        "metadata.ratio",
        "metadata.note",
        "metadata.code",
        "metadata.zip",
        "metadata",
    ]
    assert [int(r["created_at"]) for r in rows] == times
    assert {r["user_id"] for r in rows} == {"1"}
    assert [r["metadata.n"] for r in rows] == ["4", "3", "2", "1", "0"]
    assert json.loads(rows[0]["metadata"]) == {
        "count_text": "42",
        "price": {"amount": 34999, "currency": "eur"},
        "link": {"url": "https://example.com/o/1", "value": "order 1"},
    }
    # The importer reads the file back as the events that were listed.
    exported = tmp_path / "events.csv"
    exported.write_text(out)
    read = list(read_events(exported))
    assert [(e.event_name, e.created_at, e.user_id) for e in read] == [  # type: ignore[union-attr]
        ("paged", t, "1") for t in times
    ]
    assert read[0].metadata == {  # type: ignore[union-attr]
        "n": 4,
        "ratio": 0.5,
        "note": 'hello, "world"',
        "code": "007",
        "zip": "02134",
        "count_text": "42",
        "price": {"amount": 34999, "currency": "eur"},
        "link": {"url": "https://example.com/o/1", "value": "order 1"},
    }


def test_csv_of_a_listing_by_email_or_intercom_id(
    fake: FakeIntercom, capsys: pytest.CaptureFixture[str]
) -> None:
    contact = fake.add_user(user_id="1", email="a@b.c")
    fill(fake, 2)
    assert run(fake, "list", "--email", "a@b.c", "--csv") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [list(r) for r in rows] == [["event_name", "created_at", "email", "metadata.n"]] * 2
    assert {r["email"] for r in rows} == {"a@b.c"}
    assert run(fake, "list", "--id", contact, "--csv") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["id"] for r in rows} == {contact}  # the importer's column for Intercom's id
    assert run(fake, "list", "--user-id", "nobody-listed", "--csv") == 1  # a 404, as ever
    capsys.readouterr()
    fake.add_user(user_id="quiet")
    assert run(fake, "list", "--user-id", "quiet", "--csv") == 0
    assert capsys.readouterr().out.splitlines() == ["event_name,created_at,user_id"]


def test_id_is_an_alias_of_intercom_user_id(
    fake: FakeIntercom, capsys: pytest.CaptureFixture[str]
) -> None:
    contact = fake.add_user(user_id="1")
    fill(fake, 2)
    for flag in ("--id", "--intercom-user-id"):
        assert run(fake, "--json", "list", flag, contact) == 0
        listed = json.loads(capsys.readouterr().out)
        assert [e["intercom_user_id"] for e in listed["events"]] == [contact, contact]
        assert gets(fake)[-1].query == {"type": ["user"], "intercom_user_id": [contact]}
    assert run(fake, "--json", "list", "--id", contact, "--summary") == 0
    assert json.loads(capsys.readouterr().out)["events"][0]["count"] == 2
    with pytest.raises(SystemExit) as caught:
        run(fake, "list", "--id", contact, "--user-id", "1")
    assert caught.value.code == 2


def test_summary_times_are_unix_in_json_and_iso_in_tables(
    fake: FakeIntercom, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_user(user_id="1")
    times = fill(fake, 3)
    assert run(fake, "--json", "list", "--user-id", "1", "--summary") == 0
    summary = json.loads(capsys.readouterr().out)
    [item] = summary["events"]
    assert (item["name"], item["count"]) == ("paged", 3)
    assert (item["first"], item["last"]) == (times[-1], times[0])
    assert isinstance(item["first"], int)
    assert summary["type"] == "event.summary"
    assert run(fake, "list", "--user-id", "1", "--summary") == 0
    out = capsys.readouterr().out
    first = datetime.fromtimestamp(times[-1], UTC).isoformat()
    last = datetime.fromtimestamp(times[0], UTC).isoformat()
    assert f"paged  3      {first}  {last}" in out


def test_summaries_json_echoes_what_was_sent(
    fake: FakeIntercom, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_user(user_id="1")
    args = ["summaries", "--user-id", "1", "--event", "imported", "--count", "2"]
    times = ["--first", "2024-01-01T00:00:00+00:00", "--last", "1704153600"]
    assert run(fake, "--json", *args, *times) == 0
    echoed = json.loads(capsys.readouterr().out)
    assert echoed == {
        "user_id": "1",
        "event_summaries": [
            {"event_name": "imported", "count": 2, "first": 1704067200, "last": 1704153600}
        ],
    }
    sent = fake.requests[-1].json()
    assert sent["event_summaries"] == echoed["event_summaries"][0]
    assert run(fake, *args, *times) == 0
    assert capsys.readouterr().out.strip() == (
        "recorded 2 x imported for 1 (2024-01-01T00:00:00+00:00 to 2024-01-02T00:00:00+00:00)"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--user-id", "1", "--summary", "--all"],
        ["list", "--user-id", "1", "--summary", "--limit", "3"],
        ["list", "--user-id", "1", "--summary", "--csv"],
        ["--json", "list", "--user-id", "1", "--csv"],
    ],
)
def test_options_that_do_not_go_together_exit_2(
    fake: FakeIntercom, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    fake.add_user(user_id="1")
    assert run(fake, *args) == 2
    assert capsys.readouterr().err.startswith("error: --")
    assert fake.requests == []


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--user-id", "1", "--all", "--limit", "3"],
        ["list", "--user-id", "1", "--limit", "0"],
        ["list", "--user-id", "1", "--limit", "many"],
        ["list", "--user-id", "1", "--per-page", "0"],
    ],
)
def test_usage_errors_exit_2_before_any_request(fake: FakeIntercom, args: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        run(fake, *args)
    assert caught.value.code == 2
    assert fake.requests == []
