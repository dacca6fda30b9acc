"""Every wait and every read is bounded: hostile servers on 127.0.0.1, both clients."""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
import sys
import time
import zlib
from typing import Any

import pytest

from intercom_events import (
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    IntercomError,
    ResponseDecodeError,
)

from .conftest import make_client
from .hostile import HostileServer, respond

EMPTY_PAGE = json.dumps({"type": "event.list", "events": []}).encode()


def client_for(kind: str, server: HostileServer, **options: Any) -> Any:
    return make_client(kind, token="t0k", base_url=server.url, max_retries=0, **options)


async def list_once(kind: str, server: HostileServer, **options: Any) -> Any:
    client = client_for(kind, server, **options)
    try:
        return await client.call("list_data_events", user_id="1")
    finally:
        await client.close()


def trickle_body(server: HostileServer, connection: socket.socket, request: bytes) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    for _ in range(60):
        connection.sendall(b" ")
        server.sleep(0.5)


def trickle_headers(server: HostileServer, connection: socket.socket, request: bytes) -> None:
    connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    for _ in range(60):
        connection.sendall(b"a")
        server.sleep(0.5)


@pytest.mark.parametrize("answer", [trickle_body, trickle_headers], ids=["body", "headers"])
async def test_a_trickling_server_cannot_outlast_the_timeout(api_kind: str, answer: Any) -> None:
    with HostileServer(answer) as server:
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            await list_once(api_kind, server, timeout=1)
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 2.0


def _bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    zeros = bytes(2**20)
    return b"".join(packer.compress(zeros) for _ in range(256)) + packer.flush()


BOMB = _bomb()  # 256 MiB of zeros in about a quarter of a MiB


def gzip_bomb(server: HostileServer, connection: socket.socket, request: bytes) -> None:
    respond(connection, BOMB, headers={"Content-Encoding": "gzip"})


async def test_a_gzip_bomb_is_refused_unread(api_kind: str) -> None:
    with HostileServer(gzip_bomb) as server, pytest.raises(ResponseDecodeError, match="16 MiB"):
        await list_once(api_kind, server)


async def test_an_oversized_error_body_keeps_its_status_and_a_truncated_body(api_kind: str) -> None:
    def answer(server: HostileServer, connection: socket.socket, request: bytes) -> None:
        respond(connection, BOMB, status="400 Bad Request", headers={"Content-Encoding": "gzip"})

    with HostileServer(answer) as server, pytest.raises(BadRequestError) as caught:
        await list_once(api_kind, server)
    assert len(caught.value.body) == 16 * 2**20
    assert caught.value.errors == []


async def test_gzip_and_deflate_bodies_are_decoded(api_kind: str) -> None:
    encodings = iter([("gzip", gzip.compress(EMPTY_PAGE)), ("deflate", zlib.compress(EMPTY_PAGE))])

    def answer(server: HostileServer, connection: socket.socket, request: bytes) -> None:
        encoding, body = next(encodings)
        respond(connection, body, headers={"Content-Encoding": encoding})

    with HostileServer(answer) as server:
        client = client_for(api_kind, server)
        try:
            for _ in range(2):
                page = await client.call("list_data_events", user_id="1")
                assert page.events == ()
        finally:
            await client.close()
    assert all(b"accept-encoding: gzip, deflate" in r.lower() for r in server.requests)


async def test_a_body_that_is_not_the_gzip_it_claims_is_a_decode_error(api_kind: str) -> None:
    def answer(server: HostileServer, connection: socket.socket, request: bytes) -> None:
        respond(connection, b"not gzip at all", headers={"Content-Encoding": "gzip"})

    with (
        HostileServer(answer) as server,
        pytest.raises(ResponseDecodeError, match="not valid gzip"),
    ):
        await list_once(api_kind, server)


MEMORY_CHILD = """
import asyncio, sys
from intercom_events import AsyncDataEventsClient, DataEventsClient, ResponseDecodeError


def peak_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])


url, kind = sys.argv[1], sys.argv[2]
before = peak_kib()
if kind == "sync":
    with DataEventsClient(token="t", base_url=url, max_retries=0) as client:
        try:
            client.list_data_events(user_id="1")
        except ResponseDecodeError:
            pass


async def main():
    async with AsyncDataEventsClient(token="t", base_url=url, max_retries=0) as client:
        try:
            await client.list_data_events(user_id="1")
        except ResponseDecodeError:
            pass

if kind == "async":
    asyncio.run(main())
print(peak_kib() - before)
"""


@pytest.mark.processes
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_gzip_bomb_grows_memory_by_less_than_64_mb(kind: str) -> None:
    with HostileServer(gzip_bomb) as server:
        done = subprocess.run(
            [sys.executable, "-c", MEMORY_CHILD, server.url, kind],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    grown_kib = int(done.stdout.strip())
    assert grown_kib < 64 * 1024, f"peak memory grew by {grown_kib} KiB"


@pytest.mark.parametrize("status", ["200 OK", "400 Bad Request"])
async def test_deeply_nested_json_is_a_typed_error(api_kind: str, status: str) -> None:
    def answer(server: HostileServer, connection: socket.socket, request: bytes) -> None:
        respond(connection, b"[" * 200_000 + b"]" * 200_000, status=status)

    with HostileServer(answer) as server:
        expected = ResponseDecodeError if status == "200 OK" else BadRequestError
        with pytest.raises(expected) as caught:
            await list_once(api_kind, server)
    if isinstance(caught.value, BadRequestError):
        assert caught.value.errors == []  # not Intercom's error JSON: no details, no crash


@pytest.mark.parametrize(
    "headers",
    [
        {"X-RateLimit-Limit": "0", "X-RateLimit-Remaining": "0"},
        {"X-RateLimit-Limit": "-1", "X-RateLimit-Remaining": "-1"},
        {"X-RateLimit-Limit": "ten", "X-RateLimit-Remaining": "0"},
        {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "-5"},
    ],
    ids=["zero", "negative", "not-a-number", "negative-remaining"],
)
async def test_nonsense_rate_limit_headers_are_ignored(
    api_kind: str, headers: dict[str, str]
) -> None:
    def answer(server: HostileServer, connection: socket.socket, request: bytes) -> None:
        reset = str(int(time.time()) + 8)
        respond(connection, EMPTY_PAGE, headers={**headers, "X-RateLimit-Reset": reset})

    with HostileServer(answer) as server:
        client = client_for(api_kind, server)
        started = time.monotonic()
        try:
            for _ in range(3):
                await client.call("list_data_events", user_id="1")
        finally:
            await client.close()
    assert time.monotonic() - started < 3  # nobody waited for an 8-second "window"
    assert len(server.requests) == 3


@pytest.mark.parametrize("retry_after", ["nan", "inf", "-inf", "soon"])
async def test_nonsense_retry_after_falls_back_to_backoff(api_kind: str, retry_after: str) -> None:
    answers = iter([("503 Service Unavailable", b""), ("200 OK", EMPTY_PAGE)])

    def answer(server: HostileServer, connection: socket.socket, request: bytes) -> None:
        status, body = next(answers)
        respond(connection, body, status=status, headers={"Retry-After": retry_after})

    from intercom_events import RetryPolicy

    with HostileServer(answer) as server:
        client = make_client(
            api_kind,
            token="t",
            base_url=server.url,
            max_retries=1,
            retry_policy=RetryPolicy(base=0.01, cap=0.05),
        )
        try:
            page = await client.call("list_data_events", user_id="1")
        finally:
            await client.close()
    assert page.events == ()


def self_link(server: HostileServer, connection: socket.socket, request: bytes) -> None:
    here = f"{server.url}/events?type=user&user_id=1&before=1"
    body = {"type": "event.list", "events": [], "pages": {"next": here}}
    respond(connection, json.dumps(body).encode())


def two_page_loop(server: HostileServer, connection: socket.socket, request: bytes) -> None:
    other = "b" if b"before=a" in request else "a"
    page = f"{server.url}/events?type=user&user_id=1&before={other}"
    body = {"type": "event.list", "events": [], "pages": {"next": page}}
    respond(connection, json.dumps(body).encode())


@pytest.mark.parametrize("answer", [self_link, two_page_loop], ids=["self", "a-b-a"])
async def test_pages_that_link_back_stop_the_iteration(api_kind: str, answer: Any) -> None:
    with HostileServer(answer) as server:
        client = client_for(api_kind, server)
        try:
            with pytest.raises(IntercomError, match="links back to a page already fetched"):
                await client.collect(user_id="1")
        finally:
            await client.close()
    assert len(server.requests) <= 3


@pytest.mark.parametrize(
    "reply",
    [b"HTTP/1.1 abc\r\n\r\n", b"garbage\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"],
    ids=["status", "no-status-line", "content-length"],
)
async def test_a_malformed_response_is_a_typed_error(api_kind: str, reply: bytes) -> None:
    def answer(server: HostileServer, connection: socket.socket, request: bytes) -> None:
        connection.sendall(reply)
        connection.close()

    with HostileServer(answer) as server, pytest.raises((APIConnectionError, ResponseDecodeError)):
        await list_once(api_kind, server)
