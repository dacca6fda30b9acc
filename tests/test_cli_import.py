"""``intercom-events import``: the command as a user runs it (subprocesses against the fake),
and the row reading of the CLI's file reader (`intercom_events.cli._importer`) in process."""

from __future__ import annotations

import importlib.util
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from intercom_events import (
    DataEvent,
    ErrorDetail,
    InvalidEventError,
    MonetaryAmount,
    NotFoundError,
    RichLink,
)
from intercom_events.cli import main

# The reader's unit tests reach into the CLI's private file reader, as core tests do into _core.
from intercom_events.cli._failed import failed_line
from intercom_events.cli._importer import BadRow, EventFile, read_events, scalar
from intercom_events.testing import FakeIntercom


def cli(
    fake: FakeIntercom, *args: str, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m intercom_events --base-url ... --token ... ARGS``, finished."""
    return subprocess.run(
        [
            *(sys.executable, "-m", "intercom_events"),
            *("--base-url", fake.url, "--token", token or fake.token),
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


JSONL = """\
{"event_name": "placed-order", "created_at": 1700000000, "user_id": "1", "metadata": {"n": 1}}
{"event_name": "placed-order", "created_at": "2024-01-01T01:00:00+01:00", "user_id": "late"}

{"event_name": "signed-up", "user_id": "late"}
{"event_name": "broken", "user_id":
{"event_name": 7, "user_id": "1"}
{"event_name": "ok", "user_id": 1, "created_at": 6, "error": "ignored on re-runs"}
"""


def test_jsonl_failures_go_to_the_failed_file_and_rerun(fake: FakeIntercom, tmp_path: Path) -> None:
    fake.add_user(user_id="1")
    source, failed, again = tmp_path / "in.jsonl", tmp_path / "failed.jsonl", tmp_path / "2.jsonl"
    source.write_text(JSONL)
    before = int(time.time())
    done = cli(fake, "import", "--no-outbox", str(source), "--failed", str(failed), "--no-progress")
    assert done.returncode == 1, done.stderr
    assert done.stdout == "imported 6 events: 2 accepted, 4 failed\n"
    assert "Traceback" not in done.stderr
    err = done.stderr.splitlines()
    assert len(err) == 4
    assert all(line.startswith("failed: ") for line in err)
    assert "failed: InvalidEventError: line 5: row: is not JSON" in done.stderr
    assert "failed: InvalidEventError: line 6: event_name: must be str" in done.stderr
    assert "failed: placed-order for user_id=late: NotFoundError: HTTP 404" in done.stderr
    assert sorted((e["event_name"], e["user_id"]) for e in fake.events) == [
        ("ok", "1"),
        ("placed-order", "1"),
    ]
    records = {str(r.get("event_name", "?")): r for r in lines(failed)}
    assert set(records) == {"placed-order", "signed-up", "7"}  # rows that parsed: to fix
    [reject] = lines(Path(f"{failed}.rejects"))  # the line that is not JSON: never re-run
    assert reject["line"] == 5
    assert reject["raw"] == '{"event_name": "broken", "user_id":'
    assert str(reject["reason"]).startswith("is not JSON")
    order = records["placed-order"]
    assert order["created_at"] == 1704067200  # as sent: the ISO time, pinned to Unix seconds
    assert str(order["error"]).startswith("NotFoundError: HTTP 404 not_found: User Not Found")
    assert "(request id " in str(order["error"])
    signed_up = records["signed-up"]
    assert isinstance(signed_up["created_at"], int)
    assert signed_up["created_at"] >= before  # pinned once: the retry is the same event
    # The user appears; re-running the failed file sends the two that the API refused.
    fake.add_user(user_id="late")
    done = cli(fake, "import", "--no-outbox", str(failed), "--failed", str(again), "--no-progress")
    assert (done.returncode, done.stdout) == (1, "imported 3 events: 2 accepted, 1 failed\n")
    stored = {e["event_name"]: e for e in fake.events if e["user_id"] == "late"}
    assert stored["signed-up"]["created_at"] == signed_up["created_at"]
    assert stored["placed-order"]["created_at"] == 1704067200
    assert [r["event_name"] for r in lines(again)] == [7]  # the bad row stays, to be fixed


CSV = """\
event_name,created_at,user_id,email,metadata.order_id,metadata.price,metadata.zip,metadata
placed-order,1700000001,1,,42,3.50,02134,
signed-up,2024-01-01T00:00:00Z,,a@b.c,,,,"{""plan"": ""pro"", ""seats"": 3}"
placed-order,,late,,43,NaN,,"{""coupon"": ""X""}"
"""


def test_csv_metadata_columns_numbers_and_rerun_exit_0(fake: FakeIntercom, tmp_path: Path) -> None:
    fake.add_user(user_id="1")
    fake.add_user(email="a@b.c")
    source, failed = tmp_path / "in.csv", tmp_path / "failed.jsonl"
    source.write_text(CSV)
    done = cli(fake, "import", "--no-outbox", str(source), "--failed", str(failed), "--no-progress")
    assert done.returncode == 1
    assert done.stdout == "imported 3 events: 2 accepted, 1 failed\n"
    assert sorted(fake.events, key=lambda e: str(e["event_name"])) == [
        {
            "event_name": "placed-order",
            "created_at": 1700000001,
            "user_id": "1",
            "metadata": {"order_id": 42, "price": 3.5, "zip": "02134"},
        },
        {
            "event_name": "signed-up",
            "created_at": 1704067200,
            "email": "a@b.c",
            "metadata": {"plan": "pro", "seats": 3},
        },
    ]
    [record] = lines(failed)
    assert record["metadata"] == {"coupon": "X", "order_id": 43, "price": "NaN"}
    assert str(record["error"]).startswith("NotFoundError: HTTP 404")
    fake.add_user(user_id="late")
    done = cli(fake, "import", "--no-outbox", str(failed), "--no-progress")
    assert (done.returncode, done.stdout) == (0, "imported 1 events: 1 accepted, 0 failed\n")
    assert fake.events[-1]["created_at"] == record["created_at"]


def test_a_refused_token_stops_the_import_at_once(fake: FakeIntercom, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    failed = tmp_path / "failed.jsonl"
    rows = [{"event_name": "e", "user_id": "1", "created_at": n} for n in range(1, 501)]
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    done = cli(
        fake,
        "import",
        "--no-outbox",
        str(source),
        "--no-progress",
        "--failed",
        str(failed),
        token="wrong",
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    match = re.search(
        r"stopped: Intercom refused the token \(UnauthorizedError: HTTP 401", done.stderr
    )
    assert match, done.stderr
    line = int(re.findall(r"rows after line (\d+) of ", done.stderr)[0])
    assert line <= 16 + 1  # no more than were in flight: it did not try every row
    assert len(fake.requests) <= 17
    written = [json.loads(text)["created_at"] for text in failed.read_text().splitlines()]
    assert sorted(written) == list(range(1, line + 1))  # the rows read, each once
    assert fake.events == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["import", "{dir}/missing.jsonl"],
            "error: {dir}/missing.jsonl: No such file or directory",
        ),
        (["import", "{dir}/events.txt"], "error: {dir}/events.txt: expected a .jsonl or .csv file"),
        (["import", "{dir}/odd.csv"], "error: {dir}/odd.csv: unknown columns ['user']"),
        (
            ["import", "{dir}/ok.jsonl", "--failed", "{dir}/ok.jsonl"],
            "error: --failed {dir}/ok.jsonl: must not be FILE",
        ),
        (["--base-url", "http://example.com", "import", "{dir}/ok.jsonl"], "error: "),
    ],
)
def test_unusable_input_is_one_line_and_exit_2(
    fake: FakeIntercom, tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "events.txt").write_text("x")
    (tmp_path / "odd.csv").write_text("event_name,user\ne,1\n")
    (tmp_path / "ok.jsonl").write_text('{"event_name": "e", "user_id": "1"}\n')
    done = cli(fake, *(a.format(dir=tmp_path) for a in args))
    assert done.returncode == 2
    assert done.stderr.startswith(message.format(dir=tmp_path))
    assert done.stderr.count("\n") == 1
    assert done.stdout == ""
    assert fake.requests == []
    assert (tmp_path / "ok.jsonl").read_text() == '{"event_name": "e", "user_id": "1"}\n'


@pytest.mark.parametrize(
    "args",
    [
        ["import"],
        ["import", "x.jsonl", "--concurrency", "0"],
        ["import", "x.jsonl", "--concurrency", "many"],
        ["--region", "mars", "import", "x.jsonl"],
        ["import", "x.jsonl", "--bogus"],
    ],
)
def test_bad_arguments_exit_2(fake: FakeIntercom, args: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--base-url", fake.url, "--token", fake.token, *args])
    assert caught.value.code == 2
    assert fake.requests == []


def test_bad_arguments_exit_2_as_a_process(fake: FakeIntercom) -> None:
    done = cli(fake, "import", "x.jsonl", "--concurrency", "-3")
    assert done.returncode == 2
    assert "argument --concurrency: must be an int >= 1, got -3" in done.stderr
    assert "Traceback" not in done.stderr


def test_warnings_and_json_summary_with_stderr_not_a_terminal(
    fake: FakeIntercom, tmp_path: Path
) -> None:
    fake.add_user(user_id="1")
    source = tmp_path / "in.jsonl"
    source.write_text('{"event_name": "a.b", "user_id": "1", "created_at": 1}\n' * 3)
    done = cli(fake, "--json", "import", "--no-outbox", str(source))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"total": 3, "accepted": 3, "failed": 0}
    warning, counter = done.stderr.splitlines()  # no bar in a pipe or a log: a plain line
    assert warning == "warning: Intercom stores event name 'a.b' as 'a-b' ('.' and '$' become '-')"
    assert counter.startswith("3 rows read (100%), 3 accepted, 0 failed, 0 pending, ")


def test_progress_bar_on_a_terminal(
    fake: FakeIntercom,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"event_name": "e", "user_id": "nobody", "created_at": 1}\n' * 2)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert (
        main(["--base-url", fake.url, "--token", fake.token, "import", "--no-outbox", str(source)])
        == 1
    )
    out, err = capsys.readouterr()
    assert out == "imported 2 events: 0 accepted, 2 failed\n"
    assert "import: 100%" in err  # the bar runs over the file's bytes
    assert "accepted=0, failed=2" in err
    assert err.count("failed: e for user_id=nobody: NotFoundError: HTTP 404") == 2
    assert "events read" not in err


def test_plain_counter_without_tqdm(
    fake: FakeIntercom,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake.add_user(user_id="1")
    source = tmp_path / "in.jsonl"
    rows = (json.dumps({"event_name": "e", "user_id": "1", "created_at": n}) for n in range(1001))
    source.write_text("\n".join(rows) + "\nnot json\n")
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "tqdm" else real(name, *a)
    )
    assert (
        main(["--base-url", fake.url, "--token", fake.token, "import", "--no-outbox", str(source)])
        == 1
    )
    out, err = capsys.readouterr()
    assert out == "imported 1002 events: 1001 accepted, 1 failed\n"
    assert err.count(" rows read (") == 2  # one past 1,000 rows, one at the end
    assert err.splitlines()[-1].startswith("1002 rows read (100%), 1001 accepted, 1 failed, ")


def test_ctrl_c_writes_in_flight_events_and_their_rerun_is_deduplicated(
    fake: FakeIntercom, tmp_path: Path
) -> None:
    fake.add_user(user_id="1")
    fake.inject("slow", delay=1.5)
    source, failed = tmp_path / "in.jsonl", tmp_path / "failed.jsonl"
    source.write_text("".join(f'{{"event_name": "e{n}", "user_id": "1"}}\n' for n in range(50)))
    command = [sys.executable, "-m", "intercom_events", "--base-url", fake.url]
    command += [
        "--token",
        fake.token,
        "import",
        "--no-outbox",
        str(source),
        "--failed",
        str(failed),
    ]
    process = subprocess.Popen(
        [*command, "--no-progress", "--concurrency", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while len(fake.requests) < 5 and time.monotonic() < deadline:  # the first goes alone
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert out == ""
    assert "Traceback" not in err
    assert "interrupted: 5 events done (1 accepted, 4 failed, in-flight ones included); " in err
    assert f"rows after line 5 of {source} were not sent" in err
    records = lines(failed)
    assert sorted(str(r["event_name"]) for r in records) == ["e1", "e2", "e3", "e4"]
    assert all("safe to resend" in str(r["error"]) for r in records)
    fake.clear_faults()
    done = cli(fake, "import", "--no-outbox", str(failed), "--no-progress")
    assert done.returncode == 0
    time.sleep(1.6)  # the interrupted requests land too: Intercom keeps each event once
    assert sorted(e["event_name"] for e in fake.events) == ["e0", "e1", "e2", "e3", "e4"]


def test_a_read_error_midway_says_where_the_import_stopped(
    fake: FakeIntercom,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake.add_user(user_id="1")
    source = tmp_path / "in.jsonl"
    source.write_text('{"event_name": "e", "user_id": "1", "created_at": 1}\n' * 3)
    rows = EventFile._jsonl_rows

    def failing(self: EventFile) -> Iterator[tuple[int, object]]:
        for line, row in rows(self):
            if line == 3:
                raise OSError(5, "Input/output error", str(self.path))
            yield line, row

    monkeypatch.setattr(EventFile, "_jsonl_rows", failing)
    args = ["--base-url", fake.url, "--token", fake.token, "import", "--no-outbox", str(source)]
    assert main([*args, "--no-progress", "--concurrency", "1"]) == 2  # 1: none in flight
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "stopped: 2 events done (2 accepted, 0 failed, in-flight ones included); "
        f"rows after line 2 of {source} were not sent",
        f"error: {source}: Input/output error",
    ]


# -- reading rows, in process -------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("42", 42),
        ("-7", -7),
        ("0", 0),
        ("3.50", 3.5),
        ("1e3", 1000.0),
        ("-2.5E-1", -0.25),
        ("007", "007"),
        ("+5", "+5"),
        ("1_000", "1_000"),
        (" 42", " 42"),
        ("NaN", "NaN"),
        ("inf", "inf"),
        ("1e999", "1e999"),
        ("0x1f", "0x1f"),
        ("3.", "3."),
        ("", ""),
    ],
)
def test_csv_number_rule(cell: str, value: object) -> None:
    got = scalar(cell)
    assert (got, type(got)) == (value, type(value))


def read(path: Path, text: str | bytes) -> list[DataEvent | BadRow]:
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    return list(read_events(path))


def errors(items: list[DataEvent | BadRow]) -> list[str]:
    return [str(item.error) for item in items if isinstance(item, BadRow)]


def test_jsonl_rows(tmp_path: Path) -> None:
    text = (
        b'\xef\xbb\xbf{"event_name": "a", "user_id": 5, "created_at": "2024-01-01T00:00:00Z"}\n'
        b"\n   \n"
        b'{"event_name": "b", "id": "c1", "created_at": 1, "metadata": {"m": 1.5}}\r\n'
        b"\xff\xfe\n"
        b"[1, 2]\n"
        b'{"event_name": "c", "user": "1"}\n'
        b'{"event_name": "c", "user_id": "1", "created_at": 1.5}\n'
        b'{"event_name": "c", "user_id": "1", "created_at": "2024-01-01T00:00:00"}\n'
        b'{"event_name": "c", "user_id": "1", "created_at": "yesterday"}\n'
        b'{"event_name": "c", "user_id": "1", "metadata": "plan=pro"}\n'
        b'{"event_name": "c", "user_id": "1", "metadata": {"a": {"b": 1}}}\n'
        b'{"event_name": "c", "user_id": "1", "metadata": {"x": NaN}}\n'
        b'{"event_name": "c", "user_id": "1", "email": "a@b.c"}\n'
        b'{"event_name": "c\\ud800", "user_id": "1"}\n' + b"[" * 100_000 + b"\n"
    )
    items = read(tmp_path / "e.JSONL", text)
    assert items[:2] == [
        DataEvent("a", user_id="5", created_at=datetime(2024, 1, 1, tzinfo=UTC)),
        DataEvent("b", id="c1", created_at=1, metadata={"m": 1.5}),
    ]
    expected = [
        "line 5: row: is not UTF-8 text",
        "line 6: row: must be a JSON object, got list",
        "line 7: row: unknown fields ['user']; expected event_name, created_at, user_id, email,",
        "line 8: created_at: must be int or datetime or None, got float",
        "line 9: created_at: needs an offset, e.g. 2024-01-01T00:00:00+00:00",
        "line 10: created_at: must be Unix seconds or an ISO 8601 time, got 'yesterday'",
        "line 11: metadata: must be a JSON object, got str",
        "line 12: metadata['a']: nested objects are refused",
        "line 13: metadata['x']: numbers must be finite, got nan",
        "line 14: user_id/id/email: exactly one of user_id, id or email is required",
        "line 15: event_name: contains text that is not valid Unicode",
        "line 16: row: is not JSON (maximum recursion depth exceeded",
    ]
    got = errors(items)
    assert len(got) == len(expected)
    for message, start in zip(got, expected, strict=True):
        assert message.startswith(start)


def test_jsonl_is_read_lazily(tmp_path: Path) -> None:
    path = tmp_path / "e.ndjson"
    path.write_text('{"event_name": "e", "user_id": "1"}\n' * 10_000)
    with EventFile(path) as source:
        first = next(iter(source))
        assert (first, source.line) == (DataEvent("e", user_id="1"), 1)


def test_csv_rows(tmp_path: Path) -> None:
    text = (
        b"\xef\xbb\xbfevent_name, user_id ,created_at,metadata.n,metadata,error\n"
        b'a,1,1700000000,2,"{""m"": ""x""}",ignored\n'
        b",,,,,\n"
        b"\n"
        b'"multi\nline",1,,,,\n'
        b"b,1,,,\n"
        b'c,"1"x,,,,\n'
        b"d,\xff,,,,\n"
        b'e,1,,1,"{""n"": 2}",\n'
        b"f,1,,,[1],\n"
        b"g,1,soon,,,\n"
        b"h,1,,,{bad,\n"
        b"i,1,,,,\n"
    )
    items = read(tmp_path / "e.csv", text)
    assert isinstance(items[0], DataEvent)
    assert items[0] == DataEvent(
        "a", user_id="1", created_at=1700000000, metadata={"m": "x", "n": 2}
    )
    assert items[1] == DataEvent("multi\nline", user_id="1")
    assert items[-1] == DataEvent("i", user_id="1")
    assert errors(items) == [
        "line 7: row: has 5 cells, the header 6",
        "line 8: row: is not valid CSV (',' expected after '\"')",
        "line 9: row: is not UTF-8 text",
        "line 10: metadata: ['n'] given by a column and the JSON object",
        "line 11: metadata: the metadata column must be a JSON object: [1]",
        "line 12: created_at: must be Unix seconds or an ISO 8601 time, got 'soon'",
        "line 13: metadata: the metadata column must be a JSON object: {bad",
    ]
    bad = [item for item in items if isinstance(item, BadRow)]
    assert bad[2].row == {"row": ["d", "\ufffd", "", "", "", ""]}
    assert bad[4].row == {"event_name": "f", "user_id": "1", "metadata": {}}


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("event_name,user_id,user_id", "a column appears twice"),
        ("event_name,created_at", "needs an event_name column and a user_id, email or id one"),
        ("user_id,metadata.", "unknown columns ['metadata.']"),
        ('"event_name', "unexpected end of data"),
        ("event_name,user_\xff", "not UTF-8"),
    ],
)
def test_csv_headers_are_checked_on_opening(tmp_path: Path, header: str, message: str) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes(header.encode("utf-8").replace(b"\xc3\xbf", b"\xff") + b"\n")
    with pytest.raises(ValueError, match="^" + str(path)) as caught:
        EventFile(path)
    assert message in str(caught.value)


def test_empty_files_have_no_rows(tmp_path: Path) -> None:
    assert read(tmp_path / "e.csv", "") == []
    assert read(tmp_path / "e.csv", "event_name,user_id\n") == []
    assert read(tmp_path / "e.jsonl", "\n\n") == []


def test_failed_lines_read_back_as_the_same_event(tmp_path: Path) -> None:
    sent = DataEvent(
        "paid",
        email="ü@b.c",
        created_at=datetime(2024, 1, 1, 12, tzinfo=UTC),
        metadata={"price": MonetaryAmount(100, "eur"), "link": RichLink("https://x.io", "x")},
    )
    error = NotFoundError(
        status_code=404,
        headers={},
        body=b"",
        request_id="req-1",
        errors=[ErrorDetail("not_found", "User\nNot Found")],
    )
    text = failed_line(sent, error)
    assert "ü" in text
    record = json.loads(text)
    assert record["error"] == "NotFoundError: HTTP 404 not_found: User Not Found (request id req-1)"
    [back] = read(tmp_path / "f.jsonl", text + "\n")
    assert back == DataEvent(
        "paid",
        email="ü@b.c",
        created_at=datetime(2024, 1, 1, 12, tzinfo=UTC),
        metadata={
            "price": {"amount": 100, "currency": "eur"},
            "link": {"url": "https://x.io", "value": "x"},
        },
    )
    odd = BadRow(3, [1, "\ud800"], InvalidEventError("line 3: row", "must be a JSON object"))
    assert failed_line(odd, odd.error) == (
        '{"row": [1, "\\ud800"], "error": "InvalidEventError: line 3: row: must be a JSON object"}'
    )
