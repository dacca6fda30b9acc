"""``intercom-events outbox PATH [status|failed|requeue|drain]``: real outbox files, the fake."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from intercom_events import DataEvent, DataEventsClient, SQLiteOutbox
from intercom_events.cli import main
from intercom_events.testing import FakeIntercom


def unreachable() -> str:
    """A loopback URL nobody listens on: every connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def against(fake: FakeIntercom, *args: str) -> int:
    """The CLI with the fake's host and token (global options, as a user passes them)."""
    return main(["--base-url", fake.url, "--token", fake.token, *args])


def pending_file(path: Path, count: int) -> list[DataEvent]:
    """``count`` events tracked while Intercom is unreachable: they stay pending in the file."""
    with DataEventsClient(
        token="t", base_url=unreachable(), outbox=path, close_timeout=0.1
    ) as client:
        return [client.track(event_name=f"e-{n}", user_id="1") for n in range(count)]


def dead_file(fake: FakeIntercom, path: Path, count: int) -> list[DataEvent]:
    """``count`` events tracked and refused by the fake (422): dead letters in the file."""
    fake.add_user(user_id="1")
    fake.inject("422", first=count)
    with DataEventsClient(token=fake.token, base_url=fake.url, outbox=path) as client:
        sent = [
            client.track(event_name="placed-order", user_id="1", metadata={"order_id": n})
            for n in range(count)
        ]
        assert client.flush(timeout=10).dead == count
    return sent


def test_status_counts_pending_and_names_the_sender(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "outbox.sqlite3"
    pending_file(path, 3)
    assert main(["outbox", str(path)]) == 0  # status is the default; no token needed
    assert capsys.readouterr().out.splitlines() == [f"{path}: 3 pending, 0 dead", "no sender"]
    # A client open on the file holds the lease: status names this process.
    with DataEventsClient(token="t", base_url=unreachable(), outbox=path, close_timeout=0.1):
        assert main(["outbox", str(path), "status", "--json"]) == 0
        status = json.loads(capsys.readouterr().out)
        assert main(["outbox", str(path), "status"]) == 0
        text = capsys.readouterr().out
    assert (status["pending"], status["dead"]) == (3, 0)
    me = (socket.gethostname(), os.getpid())
    assert (status["sender"]["host"], status["sender"]["pid"]) == me
    assert 0 <= status["sender"]["expires_in"] <= 10
    assert f"sender: host {socket.gethostname()}, pid {os.getpid()} (lease expires in" in text


def test_failed_lists_dead_letters_as_a_table_and_as_json_lines(
    fake: FakeIntercom, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "outbox.sqlite3"
    sent = dead_file(fake, path, 2)
    assert main(["outbox", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: 0 pending, 2 dead\n")
    assert main(["outbox", str(path), "failed"]) == 0
    header, ruler, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["event", "for", "created_at", "error"]
    assert set(ruler) <= {"-", " "}
    assert len(rows) == 2
    when = datetime.fromtimestamp(sent[0].created_at, UTC).isoformat()  # type: ignore[arg-type]
    assert rows[0].split()[:3] == ["placed-order", "user_id=1", when]
    assert "UnprocessableEntityError: HTTP 422" in rows[0]
    assert main(["--json", "outbox", str(path), "failed"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["event_name"], line["user_id"], line["created_at"]) for line in lines] == [
        ("placed-order", "1", event.created_at) for event in sent
    ]
    assert [line["metadata"] for line in lines] == [{"order_id": 0}, {"order_id": 1}]
    assert all(line["error"].startswith("UnprocessableEntityError: HTTP 422") for line in lines)
    # The lines are the importer's format: `import` re-sends them as they were pinned.
    failed = tmp_path / "failed.jsonl"
    failed.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert against(fake, "import", str(failed), "--no-progress") == 0
    assert [e["created_at"] for e in fake.events] == [event.created_at for event in sent]


def test_requeue_then_drain_delivers_the_dead_letters(
    fake: FakeIntercom, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "outbox.sqlite3"
    sent = dead_file(fake, path, 2)
    assert fake.events == []
    assert main(["outbox", str(path), "requeue"]) == 0
    assert capsys.readouterr().out.strip() == "requeued 2 dead letters"
    assert main(["outbox", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: 2 pending, 0 dead\n")
    assert against(fake, "outbox", str(path), "drain") == 0
    assert (
        capsys.readouterr().out.strip()
        == f"drained {path}: 2 delivered, 0 dead, 0 retried; 0 pending"
    )
    assert sorted(e["created_at"] for e in fake.events) == sorted(e.created_at for e in sent)
    assert main(["--json", "outbox", str(path), "requeue"]) == 0
    assert json.loads(capsys.readouterr().out) == {"requeued": 0}
    assert against(fake, "outbox", str(path), "drain", "--json") == 0  # nothing left: at once
    assert json.loads(capsys.readouterr().out)["pending"] == 0


def test_drain_against_an_unreachable_host_exits_1_and_keeps_the_events(
    fake: FakeIntercom, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "outbox.sqlite3"
    pending_file(path, 2)
    args = ["--token", "t", "--base-url", unreachable(), "outbox", str(path), "drain"]
    assert main([*args, "--timeout", "0.5"]) == 1
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"drained {path}: 0 delivered, 0 dead, ")
    assert out.endswith("; 2 pending after 0.5 s")
    assert main([*args, "--timeout", "0.5", "--json"]) == 1
    stats = json.loads(capsys.readouterr().out)
    assert (stats["delivered"], stats["pending"]) == (0, 2)
    with SQLiteOutbox(path) as outbox:
        assert outbox.pending() == 2
    # Still there for a drain that can reach Intercom.
    fake.add_user(user_id="1")
    assert against(fake, "outbox", str(path), "drain") == 0
    assert sorted(e["event_name"] for e in fake.events) == ["e-0", "e-1"]


def test_a_path_that_is_not_an_outbox_exits_2_and_creates_nothing(
    fake: FakeIntercom, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.sqlite3"
    for action in ["status", "failed", "requeue", "drain"]:
        assert against(fake, "outbox", str(missing), action) == 2
        assert capsys.readouterr().err.strip() == f"error: {missing}: no such outbox file"
    assert not missing.exists()
    assert list(tmp_path.iterdir()) == []
    process = subprocess.run(
        [sys.executable, "-m", "intercom_events", "outbox", str(missing)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (process.returncode, process.stdout) == (2, "")
    assert "no such outbox file" in process.stderr
    assert "Traceback" not in process.stderr
    assert not missing.exists()
    # Another program's SQLite file is left as it was; so is a file that is not SQLite.
    other = tmp_path / "app.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE users (id INTEGER)")
    connection.close()
    assert main(["outbox", str(other)]) == 2
    assert "not an intercom-events outbox" in capsys.readouterr().err
    with sqlite3.connect(other) as connection:
        tables = connection.execute("SELECT name FROM sqlite_master").fetchall()
    connection.close()
    assert tables == [("users",)]
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert main(["outbox", str(text)]) == 2
    assert "not an intercom-events outbox" in capsys.readouterr().err
    assert main(["outbox", str(tmp_path)]) == 2
    assert "a directory" in capsys.readouterr().err
    assert fake.requests == []


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "outbox.sqlite3"
    pending_file(path, 1)
    for args in (["bogus"], ["drain", "--timeout", "-1"], ["drain", "--timeout", "soon"]):
        with pytest.raises(SystemExit) as caught:
            main(["outbox", str(path), *args])
        assert caught.value.code == 2
    assert main(["outbox", str(path), "status", "--timeout", "3"]) == 2
    assert "--timeout is for 'outbox PATH drain'" in capsys.readouterr().err
    assert main(["outbox", str(path), "drain"]) == 2  # drain sends: it needs a token
    assert "INTERCOM_ACCESS_TOKEN" in capsys.readouterr().err
    with SQLiteOutbox(path) as outbox:
        assert outbox.pending() == 1


HOLDER = """
import sys, time
from intercom_events import DataEventsClient
client = DataEventsClient(token="t", base_url=sys.argv[2], outbox=sys.argv[1])
print("holding", flush=True)
time.sleep(60)
"""


@pytest.mark.processes
def test_drain_next_to_another_sender_waits_for_it_then_takes_over_when_it_dies(
    fake: FakeIntercom, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "outbox.sqlite3"
    pending_file(path, 2)
    fake.add_user(user_id="1")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), unreachable()],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        assert main(["outbox", str(path), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["sender"]["pid"] == holder.pid
        assert against(fake, "outbox", str(path), "drain", "--timeout", "0.5") == 1
        out = capsys.readouterr().out
        assert f"pid {holder.pid} holds the lease and sends them" in out
        assert fake.events == []  # one sender at a time: the drain did not send
    finally:
        holder.kill()
        holder.wait(timeout=30)
        if holder.stdout is not None:
            holder.stdout.close()
    # A killed holder of this host is replaced at once.
    assert against(fake, "outbox", str(path), "drain", "--timeout", "10") == 0
    assert sorted(e["event_name"] for e in fake.events) == ["e-0", "e-1"]
