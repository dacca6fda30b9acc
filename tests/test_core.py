"""The I/O-free core: builders, validation, decoding, retry decisions, configuration."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from intercom_events import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    ConflictError,
    DataEvent,
    DataEventList,
    EventSummary,
    ForbiddenError,
    IntercomError,
    InternalServerError,
    InvalidEventError,
    MonetaryAmount,
    NotFoundError,
    RequestOptions,
    ResponseDecodeError,
    RetryPolicy,
    RichLink,
    TooManyRequestsError,
    UnauthorizedError,
    UnprocessableEntityError,
)
from intercom_events._core import operations
from intercom_events._core.config import resolve_config
from intercom_events._core.converter import decode_event_list, decode_summary
from intercom_events._core.headers import Headers
from intercom_events._core.hints import hinted_wait
from intercom_events._core.response import status_error
from intercom_events._core.retry import Retry, RetryClass, decide

CONFIG = resolve_config(
    token="t0k3n",
    region="us",
    base_url=None,
    intercom_version="2.14",
    timeout=20.0,
    max_retries=2,
    retry_policy=None,
    metadata_max_keys=10,
    headers=None,
    allow_insecure_http=False,
    close_timeout=5.0,
    library=lambda: "test/1",
)


def test_create_spec_is_complete_and_immutable() -> None:
    event = DataEvent("placed-order", user_id="314159", metadata={"n": 1.5})
    _, call = operations.create_data_event(CONFIG, event, now=1700000000.9)
    spec = call.spec
    assert (spec.method, spec.url) == ("POST", "https://api.intercom.io/events")
    assert json.loads(spec.body or b"") == {
        "event_name": "placed-order",
        "created_at": 1700000000,
        "user_id": "314159",
        "metadata": {"n": 1.5},
    }
    assert spec.headers["intercom-version"] == "2.14"
    assert "authorization" not in spec.headers
    assert "t0k3n" not in repr(spec)
    assert (spec.timeout, spec.max_retries, spec.retry_class) == (20.0, 2, RetryClass.IDEMPOTENT)
    assert call.decode(202, b"").created_at == 1700000000
    with pytest.raises(AttributeError):
        spec.url = "x"  # type: ignore[misc]


def test_request_options_override_per_call() -> None:
    options = RequestOptions(timeout=None, max_retries=0, retry_policy=RetryPolicy(base=0.1))
    spec = operations.create_data_event(CONFIG, DataEvent("e", id="1"), options, now=1)[1].spec
    assert (spec.timeout, spec.max_retries, spec.retry_policy.base) == (None, 0, 0.1)
    with pytest.raises(ValueError, match="Authorization"):
        operations.create_data_event(
            CONFIG,
            DataEvent("e", id="1"),
            RequestOptions(additional_headers={"authorization": "x"}),
        )
    with pytest.raises(ValueError, match="timeout"):
        RequestOptions(timeout=0)
    with pytest.raises(ValueError, match="max_retries"):
        RequestOptions(max_retries=-1)


def test_list_spec_encodes_query() -> None:
    call = operations.list_data_events(
        CONFIG, user_id=None, email="a+b@x.com", intercom_user_id=None, summary=True, per_page=3
    )
    assert call.spec.url == (
        "https://api.intercom.io/events?type=user&email=a%2Bb%40x.com&per_page=3&summary=true"
    )
    assert call.spec.body is None
    assert "content-type" not in call.spec.headers


def test_summaries_spec_is_retried_only_unless_applied() -> None:
    summaries = [EventSummary("e", count=1, first=1, last=1)]
    call = operations.create_data_event_summaries(CONFIG, user_id="1", event_summaries=summaries)
    assert call.spec.retry_class is RetryClass.UNLESS_APPLIED
    assert call.spec.url.endswith("/events/summaries")


@pytest.mark.parametrize(
    ("summaries", "field"),
    [
        ([], "event_summaries"),
        (EventSummary("e", count=1, first=1, last=1), "event_summaries"),
        (["nope"], "event_summaries[0]"),
        ([EventSummary("e", count=1, first=5, last=1)], "event_summaries[0]"),
        ([EventSummary(" ", count=1, first=1, last=1)], "event_name"),
    ],
)
def test_bad_summaries_are_refused(summaries: object, field: str) -> None:
    with pytest.raises(InvalidEventError) as caught:
        operations.create_data_event_summaries(
            CONFIG,
            user_id="1",
            event_summaries=summaries,  # type: ignore[arg-type]
        )
    assert caught.value.field == field


def test_event_summary_validates_on_construction() -> None:
    with pytest.raises(InvalidEventError, match="count"):
        EventSummary("e", count=0, first=1, last=1)
    with pytest.raises(InvalidEventError, match="aware"):
        EventSummary("e", count=1, first=datetime(2020, 1, 1), last=1)
    with pytest.raises(InvalidEventError, match="first"):
        EventSummary("e", count=1, first="2020", last=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidEventError, match="user_id"):
        operations.create_data_event_summaries(
            CONFIG, user_id="", event_summaries=[EventSummary("e", count=1, first=1, last=1)]
        )


def test_metadata_kinds_and_refusals() -> None:
    tz = timezone(timedelta(hours=2))
    event = DataEvent(
        "e",
        id="1",
        metadata={
            "s": "x",
            "i": 3,
            "f": 2.5,
            "when": datetime(2024, 1, 1, 2, tzinfo=tz),
            "due_date": 1704067200,
            "link": RichLink("https://e.org", "E"),
            "money": MonetaryAmount(100, "USD"),
        },
    )
    body = json.loads(operations.create_data_event(CONFIG, event, now=1)[1].spec.body or b"")
    assert body["metadata"] == {
        "s": "x",
        "i": 3,
        "f": 2.5,
        "when": 1704067200,
        "due_date": 1704067200,
        "link": {"url": "https://e.org", "value": "E"},
        "money": {"amount": 100, "currency": "usd"},
    }
    bad = [
        ({"b": True}, "bool"),
        ({"n": None}, "None"),
        ({"f": float("nan")}, "finite"),
        ({"x_date": "tomorrow"}, "_date"),
        ({"o": {"a": 1}}, "flatten"),
        ({"o": {"url": "ftp://x", "value": "v"}}, "http"),
        ({"o": {"amount": -1, "currency": "eur"}}, ">= 1"),
        ({"o": object()}, "object"),
        ({1: "x"}, "keys"),
    ]
    for metadata, words in bad:
        with pytest.raises(InvalidEventError, match=words):
            operations.create_data_event(CONFIG, DataEvent("e", id="1", metadata=metadata), now=1)


def test_too_many_metadata_keys_names_the_dropped_ones() -> None:
    metadata = {f"k{i}": i for i in range(12)}
    with pytest.raises(InvalidEventError, match=r"\['k10', 'k11'\]"):
        operations.create_data_event(CONFIG, DataEvent("e", id="1", metadata=metadata), now=1)
    loose = resolve_config(**{**_config_kwargs(), "metadata_max_keys": None})
    _, call = operations.create_data_event(loose, DataEvent("e", id="1", metadata=metadata), now=1)
    assert len(json.loads(call.spec.body or b"")["metadata"]) == 12


def test_intercom_user_id_is_refused_on_create() -> None:
    with pytest.raises(InvalidEventError, match="intercom_user_id"):
        operations.create_data_event(CONFIG, DataEvent("e", intercom_user_id="1"), now=1)


def test_model_validators_name_the_field() -> None:
    with pytest.raises(InvalidEventError, match="user_id"):
        DataEvent("e", user_id=5)  # type: ignore[arg-type]
    with pytest.raises(InvalidEventError, match="currency"):
        MonetaryAmount(5, "euro")
    assert "user_id='1'" in repr(DataEvent("e", user_id="1"))
    assert "email" not in repr(DataEvent("e", user_id="1"))


def _config_kwargs() -> dict[str, object]:
    return {
        "token": "t",
        "region": "us",
        "base_url": None,
        "intercom_version": "2.14",
        "timeout": 20.0,
        "max_retries": 2,
        "retry_policy": None,
        "metadata_max_keys": 10,
        "headers": None,
        "allow_insecure_http": False,
        "close_timeout": 5.0,
        "library": lambda: "x/1",
    }


@pytest.mark.parametrize(
    ("change", "base_url"),
    [
        ({"region": "eu"}, "https://api.eu.intercom.io"),
        ({"region": "au"}, "https://api.au.intercom.io"),
        ({"base_url": "http://127.0.0.1:8000/"}, "http://127.0.0.1:8000"),
        ({"base_url": "http://localhost:1"}, "http://localhost:1"),
        ({"base_url": "http://[::1]:1"}, "http://[::1]:1"),
        ({"base_url": "http://fake:80", "allow_insecure_http": True}, "http://fake:80"),
        ({"base_url": "https://proxy.example/intercom"}, "https://proxy.example/intercom"),
    ],
)
def test_base_url_resolution(change: dict[str, object], base_url: str) -> None:
    assert resolve_config(**{**_config_kwargs(), **change}).base_url == base_url  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"region": "mars"}, "region"),
        ({"base_url": "http://example.com"}, "plain http"),
        ({"base_url": "ftp://example.com"}, "http"),
        ({"base_url": "https://x?y=1"}, "query"),
        ({"intercom_version": "3"}, "intercom_version"),
        ({"timeout": -1}, "timeout"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"metadata_max_keys": 0}, "metadata_max_keys"),
    ],
)
def test_bad_configuration_is_refused(change: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        resolve_config(**{**_config_kwargs(), **change})  # type: ignore[arg-type]


def test_base_url_comes_from_the_environment_when_not_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INTERCOM_BASE_URL", "http://127.0.0.1:9999/")
    assert resolve_config(**_config_kwargs()).base_url == "http://127.0.0.1:9999"  # type: ignore[arg-type]
    explicit = {**_config_kwargs(), "base_url": "https://api.eu.intercom.io"}
    assert resolve_config(**explicit).base_url == "https://api.eu.intercom.io"  # type: ignore[arg-type]
    monkeypatch.setenv("INTERCOM_BASE_URL", "http://example.com")
    with pytest.raises(ValueError, match="plain http"):
        resolve_config(**_config_kwargs())  # type: ignore[arg-type]


def test_token_comes_from_the_environment_at_construction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kwargs = {**_config_kwargs(), "token": None}
    monkeypatch.delenv("INTERCOM_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("INTERCOM_API_KEY", raising=False)
    with pytest.raises(IntercomError, match="INTERCOM_ACCESS_TOKEN"):
        resolve_config(**kwargs)  # type: ignore[arg-type]
    monkeypatch.setenv("INTERCOM_API_KEY", "from-api-key")
    assert resolve_config(**kwargs).token.reveal() == "from-api-key"  # type: ignore[arg-type]
    monkeypatch.setenv("INTERCOM_ACCESS_TOKEN", "from-access-token")
    config = resolve_config(**kwargs)  # type: ignore[arg-type]
    assert config.token.reveal() == "from-access-token"
    assert "from-access-token" not in repr(config)


def test_decoding_ignores_unknown_and_tolerates_missing_fields() -> None:
    body = {
        "type": "event.list",
        "brand_new_field": {"x": 1},
        "events": [
            {"event_name": "a", "created_at": 5, "user_id": 42, "surprise": True},
            {"event_name": "b"},
        ],
    }
    page = decode_event_list(200, json.dumps(body).encode())
    assert page.events[0] == DataEvent("a", created_at=5, user_id="42")
    assert page.events[1] == DataEvent("b")
    assert page.pages is None
    assert decode_event_list(200, b'{"events": null}') == DataEventList()
    summary = decode_summary(
        200,
        b'{"events":[{"name":"x","first":"2014-01-16T23:12:21.000+00:00","last":null,'
        b'"count":1,"description":null,"new":1}]}',
    )
    assert summary.events[0].first == datetime(2014, 1, 16, 23, 12, 21, tzinfo=UTC)
    assert summary.events[0].last is None
    assert summary.user_id is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html>502</html>",
        b"[]",
        b'{"type": "event.summary"}',
        b'{"events": [{"created_at": 1}]}',
        b'{"events": [{"event_name": "x", "metadata": [1]}]}',
        b'{"events": [{"event_name": "x", "created_at": "soon"}]}',
        b'{"events": 7}',
        b"\xff\xfe",
    ],
)
def test_bad_bodies_raise_decode_errors(body: bytes) -> None:
    with pytest.raises(ResponseDecodeError) as caught:
        decode_event_list(200, body)
    assert caught.value.status_code == 200
    assert caught.value.body == body


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, BadRequestError),
        (401, UnauthorizedError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, TooManyRequestsError),
        (500, InternalServerError),
        (504, InternalServerError),
        (418, APIStatusError),
        (302, APIStatusError),
    ],
)
def test_status_errors_map_to_classes(status: int, kind: type[APIStatusError]) -> None:
    body = json.dumps(
        {
            "type": "error.list",
            "request_id": "body-id",
            "errors": [{"code": "c", "message": "m", "field": "f"}, {"code": "d"}, "junk"],
        }
    ).encode()
    error = status_error(status, Headers({"X-Request-Id": "hdr-id"}), body, now=0)
    assert type(error) is kind
    assert error.request_id == "hdr-id"
    assert [(e.code, e.message, e.field) for e in error.errors] == [
        ("c", "m", "f"),
        ("d", None, None),
    ]
    assert str(error) == f"HTTP {status} c: m; d (request id hdr-id)"
    no_header = status_error(status, Headers(), body, now=0)
    assert no_header.request_id == "body-id"
    empty = status_error(status, Headers(), b"", now=0)
    assert (empty.errors, empty.request_id) == ([], None)


def test_retry_after_forms() -> None:
    now = 1_700_000_000.0
    date = format_datetime(datetime.fromtimestamp(now + 100, UTC), usegmt=True)
    assert hinted_wait(Headers({"Retry-After": "3"}), now) == 3
    assert hinted_wait(Headers({"Retry-After": "-3"}), now) == 0
    assert hinted_wait(Headers({"Retry-After": date}), now + 90) == 10
    # X-RateLimit-Reset is measured against the server's Date, not our (skewed) clock.
    server_date = format_datetime(datetime.fromtimestamp(now, UTC), usegmt=True)
    headers = Headers({"X-RateLimit-Reset": str(int(now) + 7), "Date": server_date})
    assert hinted_wait(headers, now + 3600) == 7
    assert hinted_wait(Headers({"X-RateLimit-Reset": str(int(now) + 7)}), now) == 7
    assert hinted_wait(Headers({"X-RateLimit-Reset": "soon"}), now) is None
    assert hinted_wait(Headers({"Retry-After": "whenever"}), now) is None
    assert hinted_wait(Headers(), now) is None


def _decide(**kwargs: object) -> Retry | None:
    args: dict[str, object] = {
        "retry_class": RetryClass.IDEMPOTENT,
        "retries_taken": 0,
        "max_retries": 2,
        "policy": RetryPolicy(),
        "status": None,
        "headers": Headers(),
        "error": None,
        "now": 0.0,
        "rand": lambda: 1.0,
    }
    return decide(**{**args, **kwargs})  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_statuses(status: int) -> None:
    assert _decide(status=status) == Retry(0.5)
    assert _decide(status=status, retries_taken=2) is None


@pytest.mark.parametrize("status", [200, 202, 302, 400, 401, 403, 404, 409, 422])
def test_final_statuses(status: int) -> None:
    assert _decide(status=status) is None


def test_backoff_grows_with_jitter_and_cap() -> None:
    policy = RetryPolicy()
    assert [policy.backoff(k, lambda: 1.0) for k in range(1, 7)] == [0.5, 1, 2, 4, 8, 8]
    assert [policy.backoff(k, lambda: 0.0) for k in range(1, 4)] == [0.25, 0.5, 1]
    assert _decide(status=500, retries_taken=1, max_retries=5) == Retry(1.0)


def test_hints_replace_backoff_and_over_the_cap_gives_up() -> None:
    assert _decide(status=429, headers=Headers({"Retry-After": "7"})) == Retry(7.0)
    assert _decide(status=503, headers=Headers({"X-RateLimit-Reset": "12"}), now=2.0) == Retry(10)
    assert _decide(status=500, headers=Headers({"Retry-After": "7"})) == Retry(0.5)
    assert _decide(status=429, headers=Headers({"Retry-After": "61"})) is None
    error = status_error(429, Headers({"Retry-After": "61"}), b"", now=0)
    assert error.retry_after == 61


def test_connection_errors_and_summaries() -> None:
    sent = APIConnectionError("reset", request_sent=True)
    refused = APIConnectionError("refused", request_sent=False)
    read_timeout = APITimeoutError("read", request_sent=True)
    assert _decide(error=sent) == Retry(0.5)
    assert _decide(error=read_timeout) == Retry(0.5)
    only = RetryClass.UNLESS_APPLIED
    assert _decide(retry_class=only, error=refused) == Retry(0.5)
    assert _decide(retry_class=only, error=sent) is None
    assert _decide(retry_class=only, error=read_timeout) is None
    assert _decide(retry_class=only, status=429) == Retry(0.5)
    assert _decide(retry_class=only, status=503) == Retry(0.5)
    assert _decide(retry_class=only, status=500) is None


def test_headers_are_case_insensitive_and_immutable() -> None:
    headers = Headers([("Set-Thing", "a"), ("set-thing", "b"), ("X-Y", "1")])
    assert headers["SET-THING"] == "a, b"
    assert list(headers) == ["Set-Thing", "X-Y"]
    assert headers == {"set-thing": "a, b", "x-y": "1"}
    assert headers != {"x-y": "1"}
    assert "x-y" in headers
    assert 5 not in headers
    assert len(headers) == 2
    assert "X-Y" in repr(headers)
    assert headers.__eq__(5) is NotImplemented
    with pytest.raises(TypeError):
        headers["x"] = "y"  # type: ignore[index]
