"""Tracking across real processes: kill -9, several processes on one file, fork, exit.

Every child is a real interpreter (``tests/_tracking_child.py``) or a real ``os.fork()``
of one, talking real HTTP to a fake Intercom on 127.0.0.1 (or to a listener of the test's
own that never answers). Each child is stopped by its own pid in a ``finally``.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from intercom_events import DataEventsClient, SQLiteOutbox
from intercom_events.testing import FakeIntercom

from .conftest import RECENT, TOKEN

pytestmark = pytest.mark.processes

SCRIPT = str(Path(__file__).with_name("_tracking_child.py"))
START = 60.0
"""Seconds a child may take to start and print its first line (2 loaded cores)."""


class Child:
    """A child interpreter running one mode of ``_tracking_child.py``, its output read by
    threads (so a hung child fails a deadline instead of hanging the test)."""

    def __init__(self, mode: str, **args: Any) -> None:
        self.process = subprocess.Popen(
            [sys.executable, SCRIPT, mode, json.dumps(args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.pid = self.process.pid
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.out: list[str] = []
        self.err: list[str] = []
        self.exited_at: float | None = None
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, True), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, False), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Any, is_out: bool) -> None:
        for line in stream:
            (self.out if is_out else self.err).append(line.rstrip("\n"))
            if is_out:
                self.lines.put(line.rstrip("\n"))
        if is_out:
            self.lines.put(None)

    def next_line(self, timeout: float = START) -> str | None:
        """The next stdout line, None at end of output; fails after ``timeout`` seconds."""
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"child {self.pid} printed nothing for {timeout} s; stderr: {self.stderr}")

    def wait_for(self, done: Callable[[str], bool], timeout: float = START) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self.next_line(max(0.0, deadline - time.monotonic()))
            if line is None:
                pytest.fail(f"child {self.pid} ended early; stderr: {self.stderr}")
            if done(line):
                return line

    def finish(self, timeout: float) -> int:
        """Wait for the child's exit (and the end of its output); its exit code."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"child {self.pid} still running after {timeout} s: {self.stderr}")
        self.exited_at = time.monotonic()
        self._drain()
        return code

    def kill(self) -> None:
        """SIGKILL, by pid, unless it has ended; reap it."""
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            self.process.wait()
        self._drain()

    def _drain(self) -> None:
        """The child has ended: read the rest of its output, close its pipes."""
        for reader in self._readers:
            reader.join(10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None and not any(r.is_alive() for r in self._readers):
                stream.close()

    def report(self) -> dict[str, Any]:
        """The child's last stdout line, a JSON report."""
        assert self.out, f"child {self.pid} printed nothing; stderr: {self.stderr}"
        report: dict[str, Any] = json.loads(self.out[-1])
        return report

    def tracked(self) -> set[int]:
        return {int(line.split()[1]) for line in self.out if line.startswith("tracked ")}

    @property
    def stderr(self) -> str:
        return "\n".join(self.err)


@contextmanager
def children() -> Iterator[list[Child]]:
    """Children started into the list are SIGKILLed (by pid) if still running at the end,
    and so are their forked children that they never reaped."""
    started: list[Child] = []
    try:
        yield started
    finally:
        for child in started:
            child.kill()
        for child in started:
            reaped = {line.split()[1] for line in child.out if line.startswith("reaped ")}
            for line in child.out:
                if line.startswith("forked ") and line.split()[1] not in reaped:
                    with suppress(ProcessLookupError):
                        os.kill(int(line.split()[1]), signal.SIGKILL)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``condition`` until true; the seconds it took. Fails after ``timeout``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.01)
    return time.monotonic() - started


def keys(fake: FakeIntercom) -> set[tuple[str, int]]:
    return {(event["event_name"], event["created_at"]) for event in fake.events}


def posts(fake: FakeIntercom) -> int:
    return sum(1 for r in fake.requests if r.method == "POST" and r.path == "/events")


def common(fake: FakeIntercom, outbox: str | Path) -> dict[str, Any]:
    return {"url": fake.url, "token": fake.token, "outbox": str(outbox), "recent": RECENT}


def assert_drained(path: Path) -> None:
    with SQLiteOutbox(path) as outbox:
        assert outbox.pending() == 0
        assert outbox.failed() == []


# -- kill -9 in the middle of tracking ----------------------------------------------------------


def test_kill_9_mid_tracking_then_a_new_process_sends_every_event_once(tmp_path: Path) -> None:
    total, kill_at = 2_000, 1_000
    path = tmp_path / "outbox.sqlite3"
    expected = {(f"e{n}", RECENT + n) for n in range(total)}
    with FakeIntercom(token=TOKEN) as fake, children() as started:
        fake.add_user(user_id="u1")
        fake.inject("slow", delay=0.02)  # every request: delivery lags tracking
        args = common(fake, path) | {"prefix": "e", "count": total}
        first = Child("serial", **args, start=0, pace=0.001)
        started.append(first)
        first.wait_for(lambda line: line == f"tracked {kill_at - 1}")
        os.kill(first.pid, signal.SIGKILL)
        first.finish(timeout=30)
        assert first.process.returncode == -signal.SIGKILL
        confirmed = first.tracked()
        assert confirmed == set(range(len(confirmed))), "tracked lines out of order"
        assert kill_at <= len(confirmed) < total, "the kill did not land mid-tracking"
        delivered_at_kill = len(fake.events)
        print(f"killed after {len(confirmed)} tracked, {delivered_at_kill} stored")
        assert delivered_at_kill < len(confirmed), "delivery did not lag: nothing in the file"

        # The event after the last one confirmed may or may not be in the file: track it
        # again (its explicit created_at makes a replay the same event) with the rest.
        began = time.monotonic()
        second = Child("serial", **args, start=len(confirmed), flush=90)
        started.append(second)
        assert second.finish(timeout=120) == 0, second.stderr
        print(f"restart tracked and delivered the rest in {time.monotonic() - began:.1f} s")
        report = second.report()
        assert report["flushed"]["pending"] == 0
        assert report["flushed"]["tracked"] == total - len(confirmed)
        assert report["closed"]["dead"] == report["closed"]["lost"] == 0

        assert keys(fake) == expected
        assert len(fake.events) == total, "an event was stored twice"
        print(f"POST /events: {posts(fake)} for {total} events (replays are de-duplicated)")
    assert_drained(path)


# -- four processes on one file ----------------------------------------------------------------


def test_four_processes_share_one_file_and_the_lease_moves_when_its_holder_is_killed(
    tmp_path: Path,
) -> None:
    processes, each = 4, 60
    path = tmp_path / "outbox.sqlite3"
    expected = {
        (f"p{n}", RECENT + n) for k in range(processes) for n in range(k * 1000, k * 1000 + each)
    }
    with FakeIntercom(token=TOKEN, rate_limit=30, window=2) as fake, children() as started:
        fake.add_user(user_id="u1")
        args = common(fake, path) | {"prefix": "p", "flush": 120}
        for k in range(processes):
            started.append(Child("serial", **args, start=k * 1000, count=k * 1000 + each))
        for k, child in enumerate(started):
            last = f"tracked {k * 1000 + each - 1}"
            child.wait_for(last.__eq__)
        # Everything is in the file; the rate limit makes delivery take several windows.
        wait_until(lambda: len(fake.events) >= 20, 60, "delivery began")
        with SQLiteOutbox(path) as outbox:
            held = outbox.holder()
            assert held is not None
            holder, expires = held
            assert holder.host == socket.gethostname()
            assert expires > time.time()
            pids = {child.pid: child for child in started}
            assert holder.pid in pids, f"the lease is held by {holder.pid}, not a child"
            victim = pids.pop(holder.pid)
            assert outbox.pending() > 0, "the run was over before the kill"
            stored_at_kill = len(fake.events)
            os.kill(victim.pid, signal.SIGKILL)
            killed = time.monotonic()
            victim.finish(timeout=30)

            def moved() -> bool:
                now = outbox.holder()
                return now is not None and now[0].pid in pids

            wait_until(moved, 15, "another live process took the lease")
            took = time.monotonic() - killed
            print(f"lease moved {took:.2f} s after the kill ({stored_at_kill} stored by then)")
            assert took < 15

        for child in pids.values():
            assert child.finish(timeout=120) == 0, child.stderr
            report = child.report()
            assert report["flushed"]["pending"] == 0
            assert report["closed"]["tracked"] == each
            assert report["closed"]["dead"] == report["closed"]["lost"] == 0
        assert len(victim.tracked()) == each  # its events were all in the file when it died
        assert keys(fake) == expected
        assert len(fake.events) == processes * each
        print(f"POST /events: {posts(fake)} for {processes * each} events")
    assert_drained(path)


# -- fork ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("outbox", ["memory", "sqlite"])
def test_fork_after_tracking_sends_nothing_twice_and_loses_nothing(
    outbox: str, tmp_path: Path
) -> None:
    parent, child = 40, 25
    path = tmp_path / "outbox.sqlite3"
    with FakeIntercom(token=TOKEN) as fake, children() as started:
        fake.add_user(user_id="u1")
        fake.inject("slow", delay=0.05)  # so the parent has events in flight at the fork
        args = common(fake, "memory" if outbox == "memory" else path)
        script = Child("forked", **args, parent=parent, child=child, flush=20)
        started.append(script)
        assert script.finish(timeout=150) == 0, script.stderr
        report = script.report()
        print(report)
        assert report["pending_at_fork"] > 0, "nothing was pending at the fork"
        assert report["child_code"] == 0, report["child"]
        kid = report["child"]
        # The child's counts start at zero and count only its own events.
        assert kid["inherited"] == {**kid["inherited"], "tracked": 0, "delivered": 0, "lost": 0}
        assert kid["flushed"]["tracked"] == child
        assert kid["flushed"]["pending"] == 0, f"the child's own events never went: {kid}"
        assert kid["closed"]["lost"] == kid["closed"]["dead"] == 0
        assert report["parent_closed"]["tracked"] == parent
        assert report["parent_closed"]["lost"] == report["parent_closed"]["dead"] == 0
        assert report["parent_again"]["pending"] == 0
        delivered = report["parent_closed"]["delivered"] + kid["closed"]["delivered"]
        assert delivered == parent + child
        if outbox == "memory":  # each process sends its own
            assert report["parent_closed"]["delivered"] == parent
            assert kid["closed"]["delivered"] == child

        expected = {(f"parent-{n}", RECENT + n) for n in range(parent)}
        expected |= {(f"child-{n}", RECENT + 10_000 + n) for n in range(child)}
        assert keys(fake) == expected
        assert len(fake.events) == parent + child
        assert posts(fake) == parent + child, "an event was sent twice"
    if outbox == "sqlite":
        assert_drained(path)


@pytest.mark.parametrize("outbox", ["memory", "sqlite"])
def test_pre_fork_workers_each_track_and_flush(outbox: str, tmp_path: Path) -> None:
    workers, each = 3, 30
    path = tmp_path / "outbox.sqlite3"
    with FakeIntercom(token=TOKEN) as fake, children() as started:
        fake.add_user(user_id="u1")
        fake.inject("slow", delay=0.02)
        args = common(fake, "memory" if outbox == "memory" else path)
        script = Child("prefork", **args, workers=workers, child=each, flush=20)
        started.append(script)
        assert script.finish(timeout=150) == 0, script.stderr
        report = script.report()
        print(report)
        for worker in report["workers"]:
            assert worker["code"] == 0, worker
            assert worker["inherited"]["tracked"] == 0
            assert worker["flushed"]["tracked"] == each
            assert worker["flushed"]["pending"] == 0
            assert worker["closed"]["lost"] == worker["closed"]["dead"] == 0
        assert report["parent_flushed"]["tracked"] == 0
        assert report["parent_flushed"]["pending"] == 0
        expected = {(f"w{w}-{n}", RECENT + 10_000 + n) for w in range(workers) for n in range(each)}
        assert keys(fake) == expected
        assert len(fake.events) == workers * each
        assert posts(fake) == workers * each, "an event was sent twice"
    if outbox == "sqlite":
        assert_drained(path)


# -- exit with Intercom unreachable --------------------------------------------------------------


@contextmanager
def unanswering() -> Iterator[tuple[str, list[socket.socket]]]:
    """A server on 127.0.0.1 that accepts connections and never answers; its URL and the
    connections accepted so far."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    listener.settimeout(0.05)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(connection)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join(5)
        listener.close()
        for connection in accepted:
            connection.close()


CLOSE_TIMEOUT = 1.0
EXIT_BOUND = 4.0
"""close_timeout + 1 s is the contract; the rest is slack for a loaded machine's exit."""


def exits_in_time(child: Child, close_timeout: float = CLOSE_TIMEOUT) -> float:
    child.wait_for(lambda line: line == "tracked")
    said = time.monotonic()
    assert child.finish(timeout=30) == 0, child.stderr
    assert child.exited_at is not None
    took = child.exited_at - said
    print(f"exited {took:.2f} s after it printed 'tracked' (close_timeout={close_timeout})")
    assert took < close_timeout + EXIT_BOUND - CLOSE_TIMEOUT, f"exit took {took:.2f} s"
    return took


def test_exit_with_intercom_unreachable_keeps_sqlite_events_for_the_next_run(
    tmp_path: Path,
) -> None:
    count = 50
    path = tmp_path / "outbox.sqlite3"
    with unanswering() as (url, accepted), children() as started:
        child = Child(
            "exiting",
            url=url,
            token=TOKEN,
            outbox=str(path),
            recent=RECENT,
            count=count,
            close_timeout=CLOSE_TIMEOUT,
            keep=True,
        )
        started.append(child)
        exits_in_time(child)
        assert accepted, "the sender never reached the server"
    with SQLiteOutbox(path) as outbox:
        assert outbox.pending() == count
        assert outbox.failed() == []

    with FakeIntercom(token=TOKEN) as fake:
        fake.add_user(user_id="u1")
        client = DataEventsClient(token=fake.token, base_url=fake.url, outbox=path)
        try:
            stats = client.flush(timeout=60)
        finally:
            client.close()
        assert stats.pending == 0
        assert stats.delivered == count
        assert keys(fake) == {(f"x{n}", RECENT + n) for n in range(count)}
    assert_drained(path)


def test_exit_with_intercom_unreachable_reports_memory_events_lost() -> None:
    count = 50
    with unanswering() as (url, accepted), children() as started:
        child = Child(
            "exiting",
            url=url,
            token=TOKEN,
            outbox="memory",
            recent=RECENT,
            count=count,
            close_timeout=CLOSE_TIMEOUT,
            keep=True,
        )
        started.append(child)
        exits_in_time(child)
        assert accepted, "the sender never reached the server"
    errors = [line for line in child.err if line.startswith("ERROR intercom_events")]
    assert any(re.search(rf"\b{count}\b.*\blost\b", line) for line in errors), child.stderr
    reported = [line for line in child.err if line.startswith("on_track_error ")]
    assert sorted(line.split()[1] for line in reported) == sorted(f"x{n}" for n in range(count))
    assert {line.split()[2] for line in reported} == {"ClientClosedError"}


def test_exit_flushes_a_client_its_script_no_longer_references() -> None:
    """``def main(): client = DataEventsClient(...); client.track(...)``, then ``main()``
    returns and the script ends: the client was never closed, so the exit closes it."""
    count, close_timeout = 50, 10.0
    with FakeIntercom(token=TOKEN) as fake, children() as started:
        fake.add_user(user_id="u1")
        fake.inject("slow", delay=0.2)  # still sending when the script ends
        child = Child(
            "exiting",
            **common(fake, "memory"),
            count=count,
            close_timeout=close_timeout,
            keep=False,
        )
        started.append(child)
        exits_in_time(child, close_timeout)
        lost = [line for line in child.err if "lost" in line or "on_track_error" in line]
        print(f"stored {len(fake.events)} of {count}; stderr: {lost[:2]}")
        assert keys(fake) == {(f"x{n}", RECENT + n) for n in range(count)}, (
            f"{count - len(fake.events)} events dropped at exit, "
            f"{len(lost)} stderr lines about it: {child.stderr!r}"
        )
