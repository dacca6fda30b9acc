"""Failures over real HTTP: typed errors, no retries of what must not be retried, no leaks."""

from __future__ import annotations

import logging
import socket
from typing import Any

import pytest

from intercom_events import (
    APIConnectionError,
    APIStatusError,
    BadRequestError,
    IntercomError,
    InternalServerError,
    InvalidEventError,
    NotFoundError,
    ResponseDecodeError,
    TooManyRequestsError,
    UnauthorizedError,
)
from intercom_events.testing import FakeIntercom

from .conftest import RECENT, TOKEN, make_client


async def test_unknown_user_is_not_found_with_request_id(api: Any, fake: FakeIntercom) -> None:
    with pytest.raises(NotFoundError) as caught:
        await api.call("create_data_event", event_name="x-ed", user_id="nobody", created_at=1)
    error = caught.value
    assert error.status_code == 404
    assert error.request_id
    assert error.request_id == error.headers["X-Request-Id"]
    assert [e.code for e in error.errors] == ["not_found"]
    assert error.body.startswith(b"{")
    assert error.request_id in str(error)
    assert len(fake.requests) == 1  # 404 is never retried


async def test_bad_token_is_unauthorized_and_not_retried(api_kind: str, fake: FakeIntercom) -> None:
    client = make_client(api_kind, token="wrong-token", base_url=fake.url)
    with pytest.raises(UnauthorizedError) as caught:
        await client.call("list_data_events", user_id="1")
    await client.close()
    assert caught.value.errors[0].code == "unauthorized"
    assert caught.value.errors[0].message == "Access Token Invalid"
    assert len(fake.requests) == 1
    assert "wrong-token" not in str(caught.value)


async def test_bad_version_is_a_bad_request(api_kind: str, fake: FakeIntercom) -> None:
    client = make_client(
        api_kind, token=fake.token, base_url=fake.url, headers={"Intercom-Version": "9.9"}
    )
    with pytest.raises(BadRequestError) as caught:
        await client.call("list_data_events", user_id="1")
    await client.close()
    assert caught.value.errors[0].code == "intercom_version_invalid"


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("500", InternalServerError),
        ("502", InternalServerError),
        ("503", InternalServerError),
        ("429", TooManyRequestsError),
        ("html_502", InternalServerError),
        ("redirect", APIStatusError),
    ],
)
async def test_error_statuses_map_to_their_class(
    api_kind: str, fake: FakeIntercom, fault: str, error: type[APIStatusError]
) -> None:
    fake.add_user(user_id="1")
    fake.inject(fault, first=1)
    client = make_client(api_kind, token=fake.token, base_url=fake.url, max_retries=0)
    with pytest.raises(error) as caught:
        await client.call("list_data_events", user_id="1")
    await client.close()
    assert type(caught.value) is error
    assert caught.value.request_id
    if fault == "html_502":
        assert caught.value.errors == []
        assert b"<html" in caught.value.body
    elif fault == "redirect":
        assert caught.value.status_code == 302
        assert len(fake.requests) == 1  # the redirect was not followed
    else:
        assert caught.value.errors[0].code
    if fault == "429":
        assert caught.value.retry_after is not None
        assert 0 <= caught.value.retry_after <= 2


async def test_non_json_success_body_is_a_decode_error(api: Any, fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    fake.inject("non_json", first=1)
    with pytest.raises(ResponseDecodeError) as caught:
        await api.call("list_data_events", user_id="1")
    assert caught.value.status_code == 200
    assert "upstream error" in str(caught.value)
    assert isinstance(caught.value.__cause__, ValueError)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_refused_is_a_connection_error(api_kind: str) -> None:
    port = _closed_port()
    client = make_client(api_kind, token="t", base_url=f"http://127.0.0.1:{port}", max_retries=0)
    with pytest.raises(APIConnectionError) as caught:
        await client.call("list_data_events", user_id="1")
    await client.close()
    assert caught.value.request_sent is False
    assert f"GET /events to 127.0.0.1:{port} failed: connection refused" in str(caught.value)
    assert caught.value.__cause__ is not None


def test_the_cli_names_the_host_and_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    from intercom_events.cli import main

    port = _closed_port()
    args = ["--base-url", f"http://127.0.0.1:{port}", "--token", "t", "list", "--user-id", "1"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert f"to 127.0.0.1:{port} failed: connection refused" in err


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"event_name": "x"}, "user_id/id/email"),
        ({"event_name": "x", "user_id": "1", "email": "a@b.c"}, "user_id/id/email"),
        ({"event_name": "  ", "user_id": "1"}, "event_name"),
        ({"event_name": "x", "user_id": ""}, "user_id"),
        ({"event_name": "x", "user_id": 1}, "user_id"),
        ({"event_name": "x", "user_id": "1", "created_at": "yesterday"}, "created_at"),
        ({"event_name": "x", "user_id": "1", "created_at": -5}, "created_at"),
        ({"event_name": "x", "user_id": "1", "metadata": {"a": [1]}}, "metadata['a']"),
        (
            {"event_name": "x", "user_id": "1", "metadata": {str(i): i for i in range(11)}},
            "metadata",
        ),
    ],
)
async def test_bad_input_is_refused_before_sending(
    api: Any, fake: FakeIntercom, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidEventError) as caught:
        await api.call("create_data_event", **kwargs)
    assert caught.value.field == field
    assert field in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert fake.requests == []


async def test_naive_datetime_is_refused(api: Any, fake: FakeIntercom) -> None:
    from datetime import datetime

    with pytest.raises(InvalidEventError, match="aware"):
        await api.call(
            "create_data_event", event_name="x", user_id="1", created_at=datetime(2024, 1, 1)
        )
    assert fake.requests == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"user_id": "1", "email": "a@b.c"},
        {"user_id": "1", "per_page": 0},
        {"id": "1"},
    ],
)
async def test_bad_list_arguments_are_refused(
    api: Any, fake: FakeIntercom, kwargs: dict[str, Any]
) -> None:
    with pytest.raises((InvalidEventError, TypeError)):
        await api.call("list_data_events", **kwargs)
    with pytest.raises((InvalidEventError, TypeError)):
        await api.collect(**kwargs)
    assert fake.requests == []


async def test_pages_next_to_another_origin_is_refused(api_kind: str, fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    port = fake.url.rsplit(":", 1)[1]
    # The client knows the server as "localhost"; the fake's pages.next says 127.0.0.1.
    client = make_client(api_kind, token=fake.token, base_url=f"http://localhost:{port}")
    for t in range(3):
        event = {"event_name": "e", "user_id": "1", "created_at": RECENT + t}
        await client.call("create_data_event", **event)
    with pytest.raises(IntercomError, match="another origin"):
        await client.collect(user_id="1", per_page=1)
    await client.close()
    assert [r.method for r in fake.requests] == ["POST", "POST", "POST", "GET"]


async def test_token_never_appears_in_reprs_errors_or_logs(
    api_kind: str, fake: FakeIntercom, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: ours, urllib3's, aiohttp's, asyncio's
    client = make_client(api_kind, token=TOKEN, base_url=fake.url, max_retries=1)
    fake.inject("500", first=1)
    texts = [repr(client.client), str(client.client), repr(client.client.with_raw_response)]
    with pytest.raises(NotFoundError) as caught:
        await client.call("create_data_event", event_name="x", user_id="nobody", created_at=1)
    texts += [str(caught.value), repr(caught.value), repr(caught.value.headers)]
    await client.close()
    texts += [record.getMessage() for record in caplog.records]
    assert any("POST /events attempt 1: HTTP 500" in t for t in texts)
    assert any("retry in" in t for t in texts)
    assert all(TOKEN not in text for text in texts)


async def test_closed_client_raises_runtime_error(api: Any, fake: FakeIntercom) -> None:
    await api.close()
    with pytest.raises(RuntimeError, match="closed"):
        await api.call("list_data_events", user_id="1")
    await api.close()  # closing twice is harmless
