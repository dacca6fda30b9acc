"""``intercom-events import`` through its outbox: killed and re-run, it sends every row once.

Real processes (``python -m intercom_events``) against the fake over 127.0.0.1; every child
is stopped by its own PID.
"""

from __future__ import annotations

import csv
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from intercom_events import SQLiteOutbox
from intercom_events.testing import FakeIntercom

from .conftest import RECENT


def command(fake: FakeIntercom, *args: str, token: str | None = None) -> list[str]:
    return [
        *(sys.executable, "-m", "intercom_events"),
        *("--base-url", fake.url, "--token", token or fake.token),
        "import",
        *args,
    ]


def run(
    fake: FakeIntercom, *args: str, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(fake, *args, token=token), capture_output=True, text=True, check=False, timeout=120
    )


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def backfill(path: Path, rows: int) -> tuple[set[str], set[str], set[int]]:
    """A file of ``rows`` lines: good rows (half without created_at), rows refused by the rules,
    rows for an unknown user, and lines that are not JSON. Returns the names that must be
    stored, the names that must be in the failed file, and the reject line numbers."""
    good, failed, rejects = set(), set(), set()
    with path.open("w", encoding="utf-8") as out:
        for n in range(1, rows + 1):
            if n % 37 == 0:
                out.write('{"event_name": "broken", "user_id":\n')
                rejects.add(n)
                continue
            row: dict[str, object] = {"event_name": f"e{n}", "user_id": "u1"}
            if n % 2:
                row["created_at"] = RECENT + n
            if n % 41 == 0:
                row["user_id"] = "nobody"  # 404: failed at once in an import
                failed.add(f"e{n}")
            elif n % 43 == 0:
                row["created_at"] = (RECENT + n) * 1000  # milliseconds: refused by the rules
                failed.add(f"e{n}")
            else:
                good.add(f"e{n}")
            out.write(json.dumps(row) + "\n")
    return good, failed, rejects


@pytest.mark.processes
def test_killed_at_random_points_then_rerun_every_row_is_stored_once(
    fake: FakeIntercom, tmp_path: Path
) -> None:
    fake.add_user(user_id="u1")
    fake.inject("slow", delay=0.01)
    source, failed = tmp_path / "backfill.jsonl", tmp_path / "failed.jsonl"
    good, refused, rejects = backfill(source, 600)
    chance = random.Random(7)
    kills = 0
    for _ in range(4):
        child = subprocess.Popen(
            command(fake, str(source), "--no-progress", "--concurrency", "4"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(chance.uniform(0.4, 1.5))
            if child.poll() is None:
                child.send_signal(signal.SIGKILL)
                kills += 1
        finally:
            child.kill()
            child.wait(10)
    assert kills >= 2  # the run really was cut short, more than once
    done = run(fake, str(source), "--failed", str(failed), "--no-progress")
    assert done.returncode == 1, done.stderr  # some rows failed, on purpose
    names = [str(event["event_name"]) for event in fake.events]
    assert len(names) == len(set(names)), "an event was stored twice"
    assert set(names) == good
    assert {str(row["event_name"]) for row in lines(failed)} == refused
    assert {int(str(row["line"])) for row in lines(Path(f"{failed}.rejects"))} == rejects
    total = len(good) + len(refused) + len(rejects)
    assert (
        done.stdout
        == f"imported {total} events: {len(good)} accepted, {total - len(good)} failed\n"
    )
    with SQLiteOutbox(tmp_path / "backfill.jsonl.intercom-outbox.sqlite3") as outbox:
        assert outbox.pending() == 0


def test_a_rerun_after_the_end_sends_nothing_again(fake: FakeIntercom, tmp_path: Path) -> None:
    fake.add_user(user_id="u1")
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"event_name": f"e{n}", "user_id": "u1"}) + "\n"
                              for n in range(20)))  # fmt: skip
    assert run(fake, str(source), "--no-progress").returncode == 0
    requests = len(fake.requests)
    again = run(fake, str(source), "--no-progress")
    assert again.returncode == 0, again.stderr
    assert len(fake.requests) == requests  # no row read twice, no event sent twice
    assert len(fake.events) == 20


def test_a_changed_file_is_refused_unless_restart(fake: FakeIntercom, tmp_path: Path) -> None:
    fake.add_user(user_id="u1")
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"event_name": "a", "user_id": "u1", "created_at": RECENT}) + "\n")
    assert run(fake, str(source), "--no-progress").returncode == 0
    source.write_text(json.dumps({"event_name": "b", "user_id": "u1", "created_at": RECENT}) + "\n")
    refused = run(fake, str(source), "--no-progress")
    assert refused.returncode == 2
    assert "changed since its import began" in refused.stderr
    assert "--restart" in refused.stderr
    assert [e["event_name"] for e in fake.events] == ["a"]
    restarted = run(fake, str(source), "--no-progress", "--restart")
    assert restarted.returncode == 0, restarted.stderr
    assert sorted(e["event_name"] for e in fake.events) == ["a", "b"]


def test_a_csv_failed_file_is_fixed_and_rerun_end_to_end(
    fake: FakeIntercom, tmp_path: Path
) -> None:
    fake.add_user(user_id="u1")
    source, failed = tmp_path / "in.csv", tmp_path / "failed.csv"
    source.write_text(
        "event_name,created_at,user_id,metadata.plan,metadata\n"
        f"ok,{RECENT},u1,pro,\n"
        f'late,{RECENT + 1},later,team,"{{""seats"": 3}}"\n'
        "pinned,,later,,\n"
        "short,1\n"
    )
    first = run(fake, str(source), "--failed", str(failed), "--no-progress")
    assert first.returncode == 1, first.stderr
    with failed.open(newline="", encoding="utf-8") as rows:
        written = list(csv.DictReader(rows))
    assert [row["event_name"] for row in written] == ["late", "pinned"]
    assert json.loads(written[0]["metadata"]) == {"plan": "team", "seats": 3}
    assert written[1]["created_at"].isdigit()  # pinned when first read: a re-run is the same event
    assert written[0]["error"].startswith("NotFoundError: HTTP 404")
    [reject] = lines(Path(f"{failed}.rejects"))
    assert reject["line"] == 5
    fake.add_user(user_id="later")
    again = run(fake, str(failed), "--no-progress")
    assert again.returncode == 0, again.stderr
    stored = {e["event_name"]: e for e in fake.events}
    assert stored["late"]["metadata"] == {"plan": "team", "seats": 3}
    assert stored["pinned"]["created_at"] == int(written[1]["created_at"])


def test_a_refused_token_stops_with_the_rest_pending_and_a_rerun_resumes(
    fake: FakeIntercom, tmp_path: Path
) -> None:
    fake.add_user(user_id="u1")
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"event_name": f"e{n}", "user_id": "u1"}) + "\n"
                              for n in range(50)))  # fmt: skip
    stopped = run(fake, str(source), "--no-progress", token="wrong")
    assert stopped.returncode == 1
    assert "stopped: Intercom refused the token (401/403)" in stopped.stderr
    assert "run the same command again to resume" in stopped.stderr
    assert len(fake.requests) <= 8  # the first refusals, then no probing
    assert fake.events == []
    resumed = run(fake, str(source), "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(e["event_name"] for e in fake.events) == sorted(f"e{n}" for n in range(50))


def test_unknown_user_retry_waits_for_the_contact(fake: FakeIntercom, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"event_name": "signup", "user_id": "soon"}\n')
    child = subprocess.Popen(
        command(fake, str(source), "--no-progress", "--unknown-user-retry", "30"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not any(r.method == "POST" for r in fake.requests):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        fake.add_user(user_id="soon")
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
        child.wait(10)
    assert child.returncode == 0, err
    assert out == "imported 1 events: 1 accepted, 0 failed\n"
    assert [e["event_name"] for e in fake.events] == ["signup"]


def test_progress_lines_show_rows_rate_and_eta(fake: FakeIntercom, tmp_path: Path) -> None:
    fake.add_user(user_id="u1")
    source = tmp_path / "in.jsonl"
    rows = [{"event_name": f"e{n}", "user_id": "u1", "created_at": RECENT + n} for n in range(1500)]
    source.write_text("".join(json.dumps(row) + "\n" for row in rows) + "not json\n")
    done = run(fake, str(source))
    assert done.returncode == 1
    progress = [line for line in done.stderr.splitlines() if " rows read (" in line]
    assert progress[0].startswith("1000 rows read (")
    assert progress[-1].startswith("1501 rows read (100%), 1500 accepted, 1 failed, 0 pending, ")
    assert all("rows/s, ETA " in line for line in progress)
