"""The command line's API commands and importer, against the fake."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from intercom_events.cli import main
from intercom_events.testing import FakeIntercom

from .conftest import RECENT

WHEN = datetime.fromtimestamp(RECENT, UTC).isoformat()


def run(fake: FakeIntercom, *args: str, token: str | None = None) -> int:
    return main(["--base-url", fake.url, "--token", token or fake.token, *args])


def test_send_list_and_summaries(fake: FakeIntercom, capsys: pytest.CaptureFixture[str]) -> None:
    fake.add_user(user_id="1")
    assert (
        run(
            fake,
            "send",
            "placed-order",
            "--user-id",
            "1",
            "--created-at",
            str(RECENT),
            "--meta",
            "order_id=42",
            "--meta",
            "ratio=0.5",
            "--meta",
            "note=a=b",
        )
        == 0
    )
    assert f"sent placed-order for user_id=1 at {WHEN}" in capsys.readouterr().out
    assert fake.events[0]["metadata"] == {"order_id": 42, "ratio": 0.5, "note": "a=b"}
    assert run(fake, "list", "--user-id", "1", "--json") == 0
    [listed] = json.loads(capsys.readouterr().out)["events"]
    assert (listed["event_name"], listed["created_at"]) == ("placed-order", RECENT)
    assert run(fake, "list", "--user-id", "1") == 0
    assert f"placed-order  {WHEN}" in capsys.readouterr().out
    assert (
        run(
            fake,
            "summaries",
            "--user-id",
            "1",
            "--event",
            "imported",
            "--count",
            "2",
            "--first",
            "2024-01-01T00:00:00+00:00",
            "--last",
            "1704153600",
        )
        == 0
    )
    assert fake.requests[-1].json()["event_summaries"]["first"] == 1704067200
    capsys.readouterr()
    assert run(fake, "--json", "list", "--user-id", "1", "--summary") == 0
    summary = json.loads(capsys.readouterr().out)
    assert {e["name"]: e["count"] for e in summary["events"]} == {"placed-order": 1, "imported": 2}


def test_api_errors_are_one_line_with_status_and_request_id(
    fake: FakeIntercom, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(fake, "send", "x", "--user-id", "nobody") == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: NotFoundError: HTTP 404")
    assert "request id" in err
    assert "\n" not in err
    assert run(fake, "list", "--email", "a@b.c", token="wrong") == 1
    assert "UnauthorizedError: HTTP 401" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["send", "x"],  # no identifier
        ["send", "x", "--user-id", "1", "--email", "a@b.c"],
        ["send", "x", "--user-id", "1", "--created-at", "yesterday"],
        ["send", "x", "--user-id", "1", "--created-at", "2024-01-01T00:00:00"],
        ["send", "x", "--user-id", "1", "--meta", "novalue"],
        ["list"],
        ["summaries", "--user-id", "1"],
        ["bogus"],
    ],
)
def test_usage_errors_exit_2(fake: FakeIntercom, args: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        run(fake, *args)
    assert caught.value.code == 2
    assert fake.requests == []


def test_invalid_input_and_missing_token_exit_2(
    fake: FakeIntercom, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(fake, "send", " ", "--user-id", "1") == 2
    assert "event_name" in capsys.readouterr().err
    assert main(["--base-url", fake.url, "list", "--user-id", "1"]) == 2
    assert "INTERCOM_ACCESS_TOKEN" in capsys.readouterr().err
    assert main(["--base-url", "http://example.com", "--token", "t", "list", "--user-id", "1"]) == 2
    assert fake.requests == []


JSONL = """\
{"event_name": "placed-order", "created_at": 1700000000, "user_id": "1", "metadata": {"n": 1}}
{"event_name": "placed-order", "created_at": "2024-01-01T00:00:00+00:00", "user_id": "late"}
not json

{"event_name": "nested", "user_id": "1", "created_at": 5, "metadata": {"a": {"b": 1}}}
{"event_name": "typo", "user": "1", "created_at": 5}
{"event_name": "ok", "email": "a@b.c", "created_at": 6, "error": "ignored on re-runs"}
"""

CSV = """\
event_name,created_at,user_id,email,metadata.order_id,metadata.note,metadata
placed-order,1700000001,1,,42,hello,
signed-up,2024-01-01T00:00:00+00:00,,a@b.c,,,"{""plan"": ""pro""}"
placed-order,1700000002,late,,,,
"""


def test_import_jsonl_with_failures_then_rerun_the_failed_file(
    fake: FakeIntercom, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_user(user_id="1")
    fake.add_user(email="a@b.c")
    source, failed = tmp_path / "events.jsonl", tmp_path / "failed.jsonl"
    source.write_text(JSONL)
    assert (
        run(fake, "import", "--no-outbox", str(source), "--failed", str(failed), "--no-progress")
        == 1
    )
    out, err = capsys.readouterr()
    assert out.strip() == "imported 6 events: 2 accepted, 4 failed"
    assert "line 3" in err
    assert "NotFoundError" in err
    assert sorted(e["event_name"] for e in fake.events) == ["ok", "placed-order"]
    lines = [json.loads(line) for line in failed.read_text().splitlines()]
    assert len(lines) == 3  # the rows that parsed; the line that is not JSON is a reject
    [reject] = [json.loads(line) for line in Path(f"{failed}.rejects").read_text().splitlines()]
    assert reject["line"] == 3
    assert "is not JSON" in reject["reason"]
    late = next(line for line in lines if line.get("user_id") == "late")
    assert late["created_at"] == 1704067200
    assert late["error"].startswith("NotFoundError: HTTP 404")
    # Fix the cause, re-run the failed file: the API's failure now lands.
    fake.add_user(user_id="late")
    assert run(fake, "import", "--no-outbox", str(failed), "--no-progress", "--json") == 1
    assert json.loads(capsys.readouterr().out) == {"total": 3, "accepted": 1, "failed": 2}
    assert any(e.get("user_id") == "late" for e in fake.events)


def test_import_csv(fake: FakeIntercom, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake.add_user(user_id="1")
    fake.add_user(email="a@b.c")
    source = tmp_path / "events.csv"
    source.write_text(CSV)
    assert run(fake, "import", "--no-outbox", str(source), "--no-progress") == 1
    assert capsys.readouterr().out.strip() == "imported 3 events: 2 accepted, 1 failed"
    by_name = {e["event_name"]: e for e in fake.events}
    assert by_name["placed-order"]["metadata"] == {"order_id": 42, "note": "hello"}
    assert by_name["signed-up"] == {
        "event_name": "signed-up",
        "created_at": 1704067200,
        "email": "a@b.c",
        "metadata": {"plan": "pro"},
    }


def test_import_all_accepted_exits_0_and_rejects_other_files(
    fake: FakeIntercom, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_user(user_id="1")
    good = tmp_path / "good.jsonl"
    good.write_text('{"event_name": "e", "user_id": 1, "created_at": 1}\n')
    assert run(fake, "import", "--no-outbox", str(good), "--no-progress") == 0
    assert fake.events[0]["user_id"] == "1"
    other = tmp_path / "events.txt"
    other.write_text("x")
    assert run(fake, "import", "--no-outbox", str(other)) == 2
    assert "expected a .jsonl or .csv" in capsys.readouterr().err
    assert run(fake, "import", "--no-outbox", str(tmp_path / "missing.jsonl")) == 2


def test_import_progress_counter_without_tqdm(
    fake: FakeIntercom,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import importlib.util

    fake.add_user(user_id="1")
    source = tmp_path / "events.jsonl"
    source.write_text(
        "".join(
            json.dumps({"event_name": "e", "user_id": "1", "created_at": n}) + "\n"
            for n in range(1000)
        )
    )
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tqdm" else real(name, *a)
    )
    assert run(fake, "import", "--no-outbox", str(source)) == 0
    err = capsys.readouterr().err
    assert "1000 rows read (100%), " in err
    assert err.splitlines()[-1].startswith(
        "1000 rows read (100%), 1000 accepted, 0 failed, 0 pending"
    )


def test_global_options_after_the_command(
    fake: FakeIntercom, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_user(user_id="1")
    assert (
        main(["list", "--user-id", "1", "--base-url", fake.url, "--token", fake.token, "--json"])
        == 0
    )
    assert json.loads(capsys.readouterr().out) == {"type": "event.list", "events": [], "pages": {}}


def test_import_ctrl_c_exits_130_with_in_flight_events_in_the_failed_file(
    fake: FakeIntercom, tmp_path: Path
) -> None:
    import signal
    import time

    fake.add_user(user_id="1")
    fake.inject("slow", delay=2.0)
    source, failed = tmp_path / "events.jsonl", tmp_path / "failed.jsonl"
    source.write_text(
        "".join(
            json.dumps({"event_name": "e", "user_id": "1", "created_at": n}) + "\n"
            for n in range(100)
        )
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "intercom_events",
            "--base-url",
            fake.url,
            "--token",
            fake.token,
            "import",
            "--no-outbox",
            str(source),
            "--failed",
            str(failed),
            "--no-progress",
            "--concurrency",
            "4",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while len(fake.requests) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "interrupted" in err
    assert "Traceback" not in err
    lines = [json.loads(line) for line in failed.read_text().splitlines()]
    assert len(lines) == 4  # the events in flight: outcome unknown, safe to re-run
    assert all("safe to resend" in line["error"] for line in lines)
    fake.clear_faults()
