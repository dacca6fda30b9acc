"""The command line: the demo and the fake, as a user runs them."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest
import requests

from intercom_events import __version__
from intercom_events.cli import main


def test_demo_runs_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    text = capsys.readouterr().out
    assert "Intercom stored 12: the repeat was de-duplicated" in text
    assert re.search(r"^ada\s+5\s+3\s+signed-up x1, placed-order x3, read-article x1$", text, re.M)
    assert re.search(r"^ada \(async\)\s+15\s+1\s+.*viewed-page x10$", text, re.M)


def test_demo_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "intercom_events", "demo"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "async client: sent 10 events concurrently" in done.stdout
    assert done.stderr == ""


def test_version_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as version:
        main(["--version"])
    assert version.value.code == 0
    assert __version__ in capsys.readouterr().out
    with pytest.raises(SystemExit) as usage:
        main(["demo", "--bogus"])
    assert usage.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err
    with pytest.raises(SystemExit) as missing:
        main([])
    assert missing.value.code == 2


@pytest.mark.parametrize(
    ("before", "token"), [([], "test-token"), (["--token", "tok-before-the-command"], None)]
)
def test_fake_command_serves_until_terminated(before: list[str], token: str | None) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "intercom_events", *before, "fake", "--port", "0", "--user", "42"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = first.split()[-1]
        assert url.startswith("http://127.0.0.1:")
        accepted = token or before[-1]
        assert process.stdout.readline().strip() == f"Token: {accepted}"
        response = requests.get(
            f"{url}/events",
            params={"type": "user", "user_id": "42"},
            headers={"Authorization": f"Bearer {accepted}"},
            timeout=5,
        )
        assert response.json()["type"] == "event.list"
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
    assert process.returncode == 0
