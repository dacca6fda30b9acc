"""Closing is honest, forks do not share connections, and the token never leaks."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from intercom_events import (
    APIConnectionError,
    AsyncDataEventsClient,
    ClientClosedError,
    DataEvent,
    DataEventsClient,
    IntercomError,
)
from intercom_events.testing import FakeIntercom

from .conftest import RECENT, TOKEN, make_client
from .hostile import HostileServer, respond

# -- closing ----------------------------------------------------------------------------------


async def test_a_closed_client_refuses_calls_with_client_closed_error(
    api: Any, fake: FakeIntercom
) -> None:
    await api.close()
    with pytest.raises(ClientClosedError) as caught:
        await api.call("list_data_events", user_id="1")
    assert isinstance(caught.value, IntercomError)
    assert isinstance(caught.value, RuntimeError)
    assert fake.requests == []


async def test_aclose_lets_calls_in_flight_finish(fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    fake.inject("slow", first=20, delay=0.5)
    client = AsyncDataEventsClient(token=fake.token, base_url=fake.url)
    calls = [
        asyncio.create_task(client.create_data_event(event_name="e", user_id="1", created_at=n))
        for n in range(20)
    ]
    await asyncio.sleep(0.2)  # all on the wire
    await client.aclose()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert [type(r).__name__ for r in results] == ["DataEvent"] * 20
    assert len(fake.events) == 20


def test_close_lets_sync_calls_in_flight_finish(fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    fake.inject("slow", first=8, delay=0.5)
    client = DataEventsClient(token=fake.token, base_url=fake.url)
    results: list[object] = []

    def call(n: int) -> None:
        try:
            results.append(client.create_data_event(event_name="e", user_id="1", created_at=n))
        except Exception as error:
            results.append(error)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    client.close()
    for thread in threads:
        thread.join(timeout=10)
    assert [type(r).__name__ for r in results] == ["DataEvent"] * 8
    assert len(fake.events) == 8


def hang(server: HostileServer, connection: Any, request: bytes) -> None:
    server.sleep(30)  # never answers


async def test_close_cuts_calls_that_outlast_close_timeout(api_kind: str) -> None:
    with HostileServer(hang) as server:
        client = make_client(
            api_kind, token="t", base_url=server.url, close_timeout=0.5, timeout=30
        )
        if api_kind == "async":
            call = asyncio.create_task(
                client.call("create_data_event", event_name="e", user_id="1")
            )
            await asyncio.sleep(0.2)
            started = time.monotonic()
            await client.close()
            closing = time.monotonic() - started
            with pytest.raises(APIConnectionError) as caught:
                await call
        else:
            outcome: list[BaseException] = []

            def run() -> None:
                try:
                    client.client.create_data_event(event_name="e", user_id="1")
                except BaseException as error:
                    outcome.append(error)

            thread = threading.Thread(target=run)
            thread.start()
            time.sleep(0.2)
            started = time.monotonic()
            await client.close()
            closing = time.monotonic() - started
            thread.join(timeout=5)
            assert not thread.is_alive()
            [error] = outcome
            assert isinstance(error, APIConnectionError)
            caught = pytest.ExceptionInfo.from_exc_info((type(error), error, None))
    assert 0.4 <= closing < 3
    assert caught.value.request_sent is True
    assert "outcome is unknown" in str(caught.value)
    assert "sending it again is safe" in str(caught.value)


# -- fork ---------------------------------------------------------------------------------------

FORK_CHILD = """
import asyncio, json, os, sys, warnings
from intercom_events import AsyncDataEventsClient, DataEventsClient

warnings.simplefilter("ignore", DeprecationWarning)  # fork() with the watchdog thread alive
url, token, kind = sys.argv[1], sys.argv[2], sys.argv[3]


def mine(page, user):
    return [e.event_name for e in page.events] == [f"{user}-event"]


def sync_rounds(client, user):
    return sum(mine(client.list_data_events(user_id=user), user) for _ in range(300))


async def async_rounds(client, user):
    pages = [await client.list_data_events(user_id=user) for _ in range(300)]
    return sum(mine(page, user) for page in pages)


if kind == "sync":
    client = DataEventsClient(token=token, base_url=url)
    client.list_data_events(user_id="p")  # a pooled connection, before the fork
    rounds = lambda user: sync_rounds(client, user)
else:
    client = AsyncDataEventsClient(token=token, base_url=url)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(client.list_data_events(user_id="p"))
    rounds = None

read, write = os.pipe()
pid = os.fork()
user = "c" if pid == 0 else "p"
try:
    if kind == "sync":
        good = rounds(user)
    elif pid == 0:
        good = asyncio.run(async_rounds(client, user))  # a new loop: the client follows it
    else:
        good = loop.run_until_complete(async_rounds(client, user))
    said = str(good)
except BaseException as error:
    said = f"{type(error).__name__}: {error}"
if pid == 0:
    os.write(write, said.encode())
    os._exit(0)
os.close(write)
child = os.read(read, 1000).decode()
os.waitpid(pid, 0)
if kind == "sync":
    client.list_data_events(user_id="p")  # the parent's connections still work
    client.close()
print(json.dumps({"parent": said, "child": child}))
"""


@pytest.mark.processes
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_client_used_before_fork_works_in_the_child_on_its_own_connections(kind: str) -> None:
    with FakeIntercom() as fake:
        for user in ("p", "c"):
            fake.add_user(user_id=user)
        with DataEventsClient(token=fake.token, base_url=fake.url) as setup:
            for user in ("p", "c"):
                setup.create_data_event(event_name=f"{user}-event", user_id=user, created_at=RECENT)
        done = subprocess.run(
            [sys.executable, "-c", FORK_CHILD, fake.url, fake.token, kind],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout.splitlines()[-1])
    assert said == {"parent": "300", "child": "300"}  # each got its own answers, all of them


# -- the token ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    ["sk-line\nbreak", "sk-carriage\rreturn", "sk-nul\x00", "sk-tab\tx", "sk-€uro", "sk-ü"],
    ids=["lf", "cr", "nul", "tab", "non-latin-1", "non-ascii"],
)
@pytest.mark.parametrize("client_class", [DataEventsClient, AsyncDataEventsClient])
def test_a_token_a_header_cannot_carry_is_refused_without_showing_it(
    client_class: type, token: str
) -> None:
    with pytest.raises(IntercomError) as caught:
        client_class(token=token)
    assert token not in str(caught.value)
    assert token not in repr(caught.value)
    assert "position" in str(caught.value)


def test_the_cli_refuses_such_a_token_without_printing_it(fake: FakeIntercom) -> None:
    token = "sk-secret\nvalue"
    done = subprocess.run(
        [sys.executable, "-m", "intercom_events", "--base-url", fake.url, "list", "--user-id", "1"],
        capture_output=True,
        text=True,
        env={"INTERCOM_ACCESS_TOKEN": token, "PATH": ""},
        check=False,
        timeout=30,
    )
    assert done.returncode == 2
    assert "sk-secret" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


def _texts(error: BaseException) -> list[str]:
    """What an exception and its whole chain show: str, repr, args and attributes."""
    texts: list[str] = []
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        texts += [str(current), repr(current), repr(current.args), repr(vars(current))]
        todo += [current.__cause__, current.__context__]
    return texts


def trickle(server: HostileServer, connection: Any, request: bytes) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
    server.sleep(5)


def bad_status(server: HostileServer, connection: Any, request: bytes) -> None:
    connection.sendall(b"HTTP/1.1 abc\r\n\r\n")
    connection.close()


def html_502(server: HostileServer, connection: Any, request: bytes) -> None:
    respond(connection, b"<html>bad gateway</html>", status="502 Bad Gateway")


def not_json(server: HostileServer, connection: Any, request: bytes) -> None:
    respond(connection, b"<html>ok</html>")


@pytest.mark.parametrize("answer", [trickle, bad_status, html_502, not_json, None])
async def test_no_error_chain_holds_the_token(api_kind: str, answer: Any) -> None:
    if answer is None:  # nothing listens: connection refused
        with HostileServer(bad_status) as gone:
            url = gone.url
        errors = await _errors(api_kind, url)
    else:
        with HostileServer(answer) as server:
            errors = await _errors(api_kind, server.url)
    assert errors
    for error in errors:
        assert all(TOKEN not in text for text in _texts(error))


async def _errors(kind: str, url: str) -> list[BaseException]:
    client = make_client(kind, token=TOKEN, base_url=url, max_retries=0, timeout=0.5)
    found: list[BaseException] = []
    for name, args in [
        ("list_data_events", {"user_id": "1"}),
        ("create_data_event", {"event_name": "e", "user_id": "1"}),
    ]:
        try:
            await client.call(name, **args)
        except IntercomError as error:
            found.append(error)
    await client.close()
    return found


async def test_closing_under_a_bulk_send_stops_it(api_kind: str, fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    fake.inject("slow", rate=1.0, delay=0.05)
    client = make_client(api_kind, token=fake.token, base_url=fake.url)
    source = (DataEvent("e", user_id="1", created_at=RECENT + n) for n in range(100_000))
    if api_kind == "async":
        sending = asyncio.create_task(client.call("send_data_events", events=source))
        await asyncio.sleep(0.3)
        await client.close()
        with pytest.raises(ClientClosedError) as caught:
            await sending
    else:
        outcome: list[BaseException] = []

        def run() -> None:
            try:
                client.client.send_data_events(source)
            except BaseException as error:
                outcome.append(error)

        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(0.3)
        await client.close()
        thread.join(timeout=10)
        [error] = outcome
        assert isinstance(error, ClientClosedError)
        caught = pytest.ExceptionInfo.from_exc_info((type(error), error, None))
    result = caught.value.bulk_result  # type: ignore[attr-defined]
    read = next(source).created_at - RECENT
    assert result.total == read < 1000  # it stopped reading: not 100,000 refusals
    assert result.accepted + len(result.failed) == result.total


def unavailable(server: HostileServer, connection: Any, request: bytes) -> None:
    respond(connection, b"", status="503 Service Unavailable", headers={"Retry-After": "20"})


def test_close_wakes_bulk_workers_waiting_to_retry() -> None:
    outcome: list[Any] = []
    events = [DataEvent("e", user_id="1", created_at=RECENT + n) for n in range(4)]
    with HostileServer(unavailable) as server:
        client = DataEventsClient(token="t", base_url=server.url, max_retries=5)

        def run() -> None:
            outcome.append(client.send_data_events(events, concurrency=4))

        thread = threading.Thread(target=run)
        thread.start()
        while len(server.requests) < 4:  # all four are now waiting 20 s to retry
            time.sleep(0.01)
        started = time.monotonic()
        client.close()
        closing = time.monotonic() - started
        thread.join(timeout=5)
    assert closing < 3  # not the 5 s close_timeout
    assert not thread.is_alive()  # nor the 20 s wait
    [result] = outcome
    assert (result.total, result.accepted) == (4, 0)
    assert all("the client was closed" in str(failed.error) for failed in result.failed)
