"""Tests of the bundled fake Intercom itself, over real HTTP with plain requests and aiohttp.

They pin the fake's behaviour (the contract the SDK's own tests rely on) without the SDK.
"""

from __future__ import annotations

import gc
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import pytest
import requests

from intercom_events.testing import FAULT_KINDS, FakeIntercom, RecordedRequest
from intercom_events.testing._options import FaultSpec, parse_fault

from .conftest import RECENT

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
USER = "314159"
T0 = RECENT
ROOT = Path(__file__).resolve().parent.parent
DROP = object()  # marks a field to leave out of an event body


@pytest.fixture
def server() -> Iterator[FakeIntercom]:
    with FakeIntercom() as fake:
        yield fake


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers.update(AUTH)
        yield session


def event(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"event_name": "placed-order", "created_at": T0, "user_id": USER}
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not DROP}


def post(http: requests.Session, fake: FakeIntercom, body: Any, **kw: Any) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
    return http.post(f"{fake.url}/events", data=data, headers=headers, timeout=5, **kw)


def get_events(http: requests.Session, fake: FakeIntercom, **params: Any) -> requests.Response:
    return http.get(f"{fake.url}/events", params={"type": "user", **params}, timeout=5)


def assert_error(
    response: requests.Response, status: int, code: str, field: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["type"] == "error.list"
    assert body["request_id"] == response.headers["X-Request-Id"]
    [error] = body["errors"]
    assert (error["code"], error["field"]) == (code, field)
    return dict(error)


# -- protocol basics ---------------------------------------------------------------------------


def test_every_response_has_a_unique_request_id_and_a_date(
    server: FakeIntercom, http: requests.Session
) -> None:
    server.add_user(user_id=USER)
    responses = [
        post(http, server, event()),
        get_events(http, server, user_id=USER),
        http.get(f"{server.url}/nowhere", timeout=5),
        requests.get(f"{server.url}/events", timeout=5),
    ]
    ids = [r.headers["X-Request-Id"] for r in responses]
    assert all(ids)
    assert len(set(ids)) == len(ids)
    assert all(re.match(r"\w{3}, \d\d \w{3} \d{4} ", r.headers["Date"]) for r in responses)


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}]
)
def test_bad_token_is_401_and_nothing_is_stored(
    server: FakeIntercom, headers: dict[str, str]
) -> None:
    server.add_user(user_id=USER)
    response = requests.post(f"{server.url}/events", json=event(), headers=headers, timeout=5)
    error = assert_error(response, 401, "unauthorized")
    assert error["message"] == "Access Token Invalid"
    assert "X-RateLimit-Limit" not in response.headers
    assert server.events == []
    assert len(server.requests) == 1


@pytest.mark.parametrize("version", ["1.0", "1.4", "2.0", "2.14", "2.16", "Preview", "Unstable"])
def test_known_versions_are_accepted(
    server: FakeIntercom, http: requests.Session, version: str
) -> None:
    server.add_user(user_id=USER)
    assert post(http, server, event(), headers={"Intercom-Version": version}).status_code == 202


@pytest.mark.parametrize("version", ["2.17", "1.5", "3.0", "preview", "latest"])
def test_unknown_versions_are_refused(
    server: FakeIntercom, http: requests.Session, version: str
) -> None:
    server.add_user(user_id=USER)
    response = post(http, server, event(), headers={"Intercom-Version": version})
    assert_error(response, 400, "intercom_version_invalid")
    assert server.events == []


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/"), ("GET", "/contacts"), ("DELETE", "/events"), ("GET", "/events/summaries")],
)
def test_other_routes_are_404_json(
    server: FakeIntercom, http: requests.Session, method: str, path: str
) -> None:
    assert_error(http.request(method, server.url + path, timeout=5), 404, "not_found")


# -- POST /events ------------------------------------------------------------------------------


def test_create_stores_once_and_deduplicates(server: FakeIntercom, http: requests.Session) -> None:
    intercom_id = server.add_user(user_id=USER, email="pat@example.com")
    first = post(http, server, event())
    assert (first.status_code, first.content) == (202, b"")
    duplicates = [
        event(),
        event(event_name="Placed.Order"),  # case and "." do not make a new event
        event(event_name="placed$order"),
        event(user_id=DROP, email="pat@example.com"),  # same contact, other identifier
        event(user_id=DROP, id=intercom_id),
    ]
    for body in duplicates:
        assert post(http, server, body).status_code == 202
    assert server.events == [event()]
    assert post(http, server, event(created_at=T0 + 1)).status_code == 202
    assert [e["created_at"] for e in server.events] == [T0, T0 + 1]


def test_numeric_user_id_is_accepted(server: FakeIntercom, http: requests.Session) -> None:
    server.add_user(user_id=USER)
    assert post(http, server, event(user_id=int(USER))).status_code == 202
    assert len(server.events) == 1


@pytest.mark.parametrize(
    "identifier", [{"user_id": "nobody"}, {"email": "no@example.com"}, {"id": "0" * 24}]
)
def test_unknown_contact_is_404(
    server: FakeIntercom, http: requests.Session, identifier: dict[str, str]
) -> None:
    server.add_user(user_id=USER, email="pat@example.com")
    response = post(http, server, {**event(user_id=DROP), **identifier})
    assert assert_error(response, 404, "not_found")["message"] == "User Not Found"
    assert server.events == []


BAD_METADATA = [
    ["a"],
    "text",
    {"tags": ["a", "b"]},
    {"nested": {"a": 1}},
    {"flag": True},
    {"nothing": None},
    {"price": {"amount": 0, "currency": "eur"}},
    {"price": {"amount": 1.5, "currency": "eur"}},
    {"price": {"amount": True, "currency": "eur"}},
    {"price": {"amount": 100}},
    {"link": {"url": "https://x.test", "value": "x", "extra": 1}},
    {"link": {"url": "https://x.test"}},
]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (b"not json", "parameter_invalid", None),
        (b"[1, 2]", "parameter_invalid", None),
        (b'{"event_name": "x", "created_at": NaN, "user_id": "314159"}', "parameter_invalid", None),
        (event(event_name=DROP), "parameter_not_found", "event_name"),
        (event(event_name=""), "parameter_invalid", "event_name"),
        (event(event_name=7), "parameter_invalid", "event_name"),
        (event(created_at=DROP), "parameter_not_found", "created_at"),
        (event(created_at=True), "parameter_invalid", "created_at"),
        (event(created_at=str(T0)), "parameter_invalid", "created_at"),
        (event(created_at=T0 + 0.5), "parameter_invalid", "created_at"),
        (event(user_id=DROP), "parameter_invalid", None),
        (event(email="pat@example.com"), "parameter_invalid", None),
        (event(intercom_user_id="abc"), "parameter_invalid", "intercom_user_id"),
        *[(event(metadata=m), "parameter_invalid", "metadata") for m in BAD_METADATA],
    ],
)
def test_invalid_create_bodies_are_400(
    server: FakeIntercom, http: requests.Session, body: Any, code: str, field: str | None
) -> None:
    server.add_user(user_id=USER, email="pat@example.com")
    error = assert_error(post(http, server, body), 400, code, field)
    if field == "metadata":
        assert error["message"] == "Invalid metadata"
    assert server.events == []


def test_metadata_kinds_are_kept_and_cut_to_ten_keys(
    server: FakeIntercom, http: requests.Session
) -> None:
    server.add_user(user_id=USER)
    metadata = {
        "source": "desktop",
        "load": 3.67,
        "order_id": 42,
        "contact_date": 1392036272,
        "article": "https://example.org/ab1de.html",
        "link": {"url": "https://example.org", "value": "the dude abides"},
        "price": {"amount": 34999, "currency": "eur"},
        **{f"k{n}": n for n in range(5)},
    }
    assert post(http, server, event(metadata=metadata)).status_code == 202
    kept = dict(list(metadata.items())[:10])
    assert server.events == [event(metadata=kept)]
    assert list(server.events[0]["metadata"]) == list(kept)  # order kept too
    [listed] = get_events(http, server, user_id=USER).json()["events"]
    assert listed["metadata"] == kept
    copy = server.events
    copy[0]["metadata"].clear()
    copy.clear()
    assert server.events == [event(metadata=kept)]  # callers get copies


# -- GET /events -------------------------------------------------------------------------------


def test_listing_follows_pages_next_across_pages(
    server: FakeIntercom, http: requests.Session
) -> None:
    server.add_user(user_id=USER)
    times = [T0 + 3, T0 + 1, T0 + 5, T0 + 2, T0 + 4, T0 + 6, T0 + 2]  # a tie at T0 + 2
    for n, created_at in enumerate(times):
        assert post(http, server, event(event_name=f"e{n}", created_at=created_at)).ok
    response = get_events(http, server, user_id=USER, per_page=2)
    seen: list[tuple[str, int]] = []
    pages = 0
    while True:
        body = response.json()
        assert body["type"] == "event.list"
        assert len(body["events"]) <= 2
        seen += [(e["event_name"], e["created_at"]) for e in body["events"]]
        pages += 1
        if pages == 1:  # events arriving mid-way must not shift later pages
            assert post(http, server, event(event_name="newest", created_at=T0 + 99)).ok
            assert post(http, server, event(event_name="oldest", created_at=T0 - 1)).ok
        next_url = body["pages"].get("next")
        if next_url is None:
            break
        assert next_url.startswith(f"{server.url}/events?type=user&user_id={USER}&per_page=2&")
        response = http.get(next_url, timeout=5)
        assert response.status_code == 200
        assert server.requests[-1].query_string == next_url.partition("?")[2]  # sent as given
    expected = sorted(
        [(f"e{n}", t) for n, t in enumerate(times)],
        key=lambda item: (item[1], item[0]),  # e6 arrived after e3: newer on a tie
        reverse=True,
    )
    assert seen == [*expected, ("oldest", T0 - 1)]
    assert pages == 4


def test_listing_defaults_to_15_per_page(server: FakeIntercom, http: requests.Session) -> None:
    server.add_user(user_id=USER)
    for n in range(16):
        assert post(http, server, event(created_at=T0 + n)).ok
    body = get_events(http, server, user_id=USER).json()
    assert len(body["events"]) == 15
    assert "per_page=15" in body["pages"]["next"]
    last = http.get(body["pages"]["next"], timeout=5).json()
    assert [e["created_at"] for e in last["events"]] == [T0]
    assert "next" not in last["pages"]


def test_listed_events_have_intercom_fields(server: FakeIntercom, http: requests.Session) -> None:
    intercom_id = server.add_user(user_id=USER)
    assert post(http, server, event()).ok
    for params in ({"user_id": USER}, {"intercom_user_id": intercom_id}):
        [listed] = get_events(http, server, **params).json()["events"]
        assert listed == {
            "type": "event",
            "id": intercom_id,
            "event_name": "placed-order",
            "created_at": T0,
            "user_id": USER,
            "email": None,
            "intercom_user_id": intercom_id,
            "metadata": {},
        }


def test_awkward_identifiers_round_trip(server: FakeIntercom, http: requests.Session) -> None:
    user_id, email = "u&type=admin", "a+b@x.com"
    server.add_user(user_id=user_id, email=email)
    for n in range(3):
        assert post(http, server, event(user_id=DROP, email=email, created_at=T0 + n)).ok
        assert post(http, server, event(user_id=user_id, event_name="x", created_at=T0 + n)).ok
    for params, encoded in [
        ({"email": email}, "email=a%2Bb%40x.com"),
        ({"user_id": user_id}, "user_id=u%26type%3Dadmin"),
    ]:
        response = get_events(http, server, per_page=4, **params)
        count = 0
        while True:
            body = response.json()
            count += len(body["events"])
            assert all(e["email"] == email and e["user_id"] == user_id for e in body["events"])
            if "next" not in body["pages"]:
                break
            assert f"&{encoded}&" in body["pages"]["next"]
            response = http.get(body["pages"]["next"], timeout=5)
        assert count == 6
    # a raw "+" in a query string is a space, as Intercom's form decoding reads it
    response = http.get(f"{server.url}/events?type=user&email=a+b@x.com", timeout=5)
    assert_error(response, 404, "not_found")
    assert server.requests[-1].query["email"] == ["a b@x.com"]


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        ("user_id=314159", "parameter_not_found", "type"),
        ("type=admin&user_id=314159", "parameter_not_found", "type"),
        ("type=user", "parameter_not_found", None),
        ("type=user&user_id=314159&email=pat%40example.com", "parameter_invalid", None),
        ("type=user&user_id=314159&user_id=314159", "parameter_invalid", None),
        ("type=user&user_id=314159&per_page=0", "parameter_invalid", "per_page"),
        ("type=user&user_id=314159&per_page=-1", "parameter_invalid", "per_page"),
        ("type=user&user_id=314159&per_page=two", "parameter_invalid", "per_page"),
        ("type=user&user_id=314159&before=%21%21", "parameter_invalid", "before"),
    ],
)
def test_invalid_list_queries_are_400(
    server: FakeIntercom, http: requests.Session, query: str, code: str, field: str | None
) -> None:
    server.add_user(user_id=USER, email="pat@example.com")
    assert_error(http.get(f"{server.url}/events?{query}", timeout=5), 400, code, field)


def test_listing_an_unknown_contact_is_404(server: FakeIntercom, http: requests.Session) -> None:
    assert_error(get_events(http, server, user_id="nobody"), 404, "not_found")
    assert_error(get_events(http, server, user_id="nobody", summary="true"), 404, "not_found")


# -- summaries ---------------------------------------------------------------------------------


def test_events_older_than_90_days_are_counted_but_not_listed(
    server: FakeIntercom, http: requests.Session
) -> None:
    server.add_user(user_id=USER)
    now = int(time.time())
    for name, created_at in [("old", now - 91 * 86_400), ("recent", now - 89 * 86_400)]:
        assert post(http, server, event(event_name=name, created_at=created_at)).ok
    listed = get_events(http, server, user_id=USER).json()
    assert [e["event_name"] for e in listed["events"]] == ["recent"]
    summary = get_events(http, server, user_id=USER, summary="true").json()
    assert sorted(e["name"] for e in summary["events"]) == ["old", "recent"]


def test_summary_aggregates_events_and_posted_summaries(
    server: FakeIntercom, http: requests.Session
) -> None:
    intercom_id = server.add_user(user_id=USER, email="pat@example.com")
    jan16 = 1389913941  # 2014-01-16T23:12:21Z
    for name, created_at in [("placed-order", jan16), ("Placed.Order", jan16 + 5), ("viewed", 9)]:
        assert post(http, server, event(event_name=name, created_at=created_at)).ok
    summary = {"event_name": "placed-order", "count": 3, "first": jan16 - 60, "last": jan16 + 1}
    body = {"user_id": USER, "event_summaries": summary}
    assert http.post(f"{server.url}/events/summaries", json=body, timeout=5).status_code == 200
    result = get_events(http, server, email="pat@example.com", summary="true").json()
    assert result == {
        "type": "event.summary",
        "email": "pat@example.com",
        "intercom_user_id": intercom_id,
        "user_id": USER,
        "events": [
            {
                "type": "event.summary",
                "name": "placed-order",
                "first": "2014-01-16T23:11:21.000+00:00",
                "last": "2014-01-16T23:12:26.000+00:00",
                "count": 5,
                "description": None,
            },
            {
                "type": "event.summary",
                "name": "viewed",
                "first": "1970-01-01T00:00:09.000+00:00",
                "last": "1970-01-01T00:00:09.000+00:00",
                "count": 1,
                "description": None,
            },
        ],
    }


@pytest.mark.parametrize("as_list", [False, True])
def test_summaries_accept_an_object_or_a_list(
    server: FakeIntercom, http: requests.Session, as_list: bool
) -> None:
    server.add_user(user_id=USER)
    item = {"event_name": "invited-friend", "count": 2, "first": T0, "last": T0 + 10}
    items: Any = [item, {**item, "event_name": "left"}] if as_list else item
    body = {"user_id": USER, "event_summaries": items}
    response = http.post(f"{server.url}/events/summaries", json=body, timeout=5)
    assert (response.status_code, response.content) == (200, b"")
    names = [
        e["name"] for e in get_events(http, server, user_id=USER, summary="true").json()["events"]
    ]
    assert names == (["invited-friend", "left"] if as_list else ["invited-friend"])
    assert server.events == []  # summaries are not events


GOOD_SUMMARY = {"event_name": "x", "count": 1, "first": T0, "last": T0}


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"event_summaries": GOOD_SUMMARY}, 400, "parameter_not_found", "user_id"),
        ({"user_id": USER}, 400, "parameter_not_found", "event_summaries"),
        ({"user_id": USER, "event_summaries": []}, 400, "parameter_invalid", "event_summaries"),
        ({"user_id": USER, "event_summaries": "x"}, 400, "parameter_invalid", "event_summaries"),
        (
            {"user_id": USER, "event_summaries": {**GOOD_SUMMARY, "count": 0}},
            400,
            "parameter_invalid",
            "event_summaries",
        ),
        (
            {"user_id": USER, "event_summaries": [GOOD_SUMMARY, {**GOOD_SUMMARY, "first": "x"}]},
            400,
            "parameter_invalid",
            "event_summaries",
        ),
        ({"user_id": "nobody", "event_summaries": GOOD_SUMMARY}, 404, "not_found", None),
    ],
)
def test_invalid_summaries_are_refused(
    server: FakeIntercom,
    http: requests.Session,
    body: dict[str, Any],
    status: int,
    code: str,
    field: str | None,
) -> None:
    server.add_user(user_id=USER)
    response = http.post(f"{server.url}/events/summaries", json=body, timeout=5)
    assert_error(response, status, code, field)
    result = get_events(http, server, user_id=USER, summary="true").json()
    assert result["events"] == []


# -- faults ------------------------------------------------------------------------------------


def test_fault_kinds_are_exported() -> None:
    assert set(FAULT_KINDS) == {
        "500", "502", "503", "401", "403", "422", "429", "429_retry_after", "drop_before",
        "drop_after",
        "slow", "non_json", "html_502", "redirect",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("500", 500, "server_error"),
        ("502", 502, "server_error"),
        ("503", 503, "service_unavailable"),
        ("401", 401, "unauthorized"),
        ("403", 403, "forbidden"),
        ("422", 422, "parameter_invalid"),
    ],
)
def test_server_error_faults(
    server: FakeIntercom, http: requests.Session, kind: str, status: int, code: str
) -> None:
    server.add_user(user_id=USER)
    server.inject(kind, first=1)
    assert_error(post(http, server, event()), status, code)
    assert server.events == []
    assert post(http, server, event()).status_code == 202
    assert len(server.events) == 1


@pytest.mark.parametrize("kind", ["429", "429_retry_after"])
def test_rate_limit_faults(kind: str) -> None:
    now = [1000.4]
    with FakeIntercom(clock=lambda: now[0]) as fake, requests.Session() as http:
        http.headers.update(AUTH)
        fake.add_user(user_id=USER)
        fake.inject(kind, first=1)
        response = post(http, fake, event())
        assert_error(response, 429, "rate_limit_exceeded")
        assert response.headers["X-RateLimit-Reset"] == "1001"
        assert response.headers["X-RateLimit-Remaining"] == "0"
        assert int(response.headers["X-RateLimit-Limit"]) > 0
        assert response.headers.get("Retry-After") == ("1" if kind == "429_retry_after" else None)
        assert post(http, fake, event()).status_code == 202
        assert len(fake.events) == 1


@pytest.mark.parametrize(("kind", "status"), [("non_json", 200), ("html_502", 502)])
def test_html_faults(server: FakeIntercom, http: requests.Session, kind: str, status: int) -> None:
    server.add_user(user_id=USER)
    server.inject(kind, first=1)
    response = get_events(http, server, user_id=USER)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text.startswith("<html>")
    assert response.headers["X-Request-Id"]
    assert get_events(http, server, user_id=USER).json()["type"] == "event.list"


def test_redirect_fault(server: FakeIntercom, http: requests.Session) -> None:
    server.add_user(user_id=USER)
    server.inject("redirect", first=1)
    response = post(http, server, event(), allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == f"{server.url}/elsewhere"
    assert server.events == []
    assert post(http, server, event()).status_code == 202


@pytest.mark.parametrize(("kind", "stored"), [("drop_before", 0), ("drop_after", 1)])
def test_dropped_connections(
    server: FakeIntercom, http: requests.Session, kind: str, stored: int
) -> None:
    server.add_user(user_id=USER)
    server.inject(kind, first=1)
    with pytest.raises(requests.ConnectionError):
        post(http, server, event())
    assert len(server.events) == stored
    assert len(server.requests) == 1
    assert post(http, server, event()).status_code == 202  # the retry is absorbed by dedup
    assert server.events == [event()]


def test_slow_fault(server: FakeIntercom, http: requests.Session) -> None:
    server.add_user(user_id=USER)
    server.inject("slow", first=1, delay=1.0)
    started = time.monotonic()
    assert post(http, server, event()).status_code == 202
    assert time.monotonic() - started >= 1.0
    started = time.monotonic()
    assert post(http, server, event(created_at=T0 + 1)).status_code == 202
    assert time.monotonic() - started < 1.0  # only the first was slowed
    assert len(server.events) == 2


def test_slow_fault_times_out_a_client(server: FakeIntercom, http: requests.Session) -> None:
    server.add_user(user_id=USER)
    server.inject("slow", first=1, delay=0.5)
    with pytest.raises(requests.Timeout):
        http.post(f"{server.url}/events", json=event(), timeout=0.1)
    time.sleep(0.6)
    assert server.events == [event()]  # the work happened though the client gave up


def statuses(fake: FakeIntercom, http: requests.Session, count: int) -> list[int]:
    return [post(http, fake, event(created_at=T0 + n)).status_code for n in range(count)]


def test_fault_rules_apply_in_order(server: FakeIntercom, http: requests.Session) -> None:
    server.add_user(user_id=USER)
    server.inject("500", first=1)
    server.inject("503", first=2)
    assert statuses(server, http, 4) == [500, 503, 503, 202]
    server.inject("502")  # neither first nor rate: every request, until cleared
    assert statuses(server, http, 2) == [502, 502]
    server.clear_faults()
    assert statuses(server, http, 1) == [202]
    server.inject("500", first=1, rate=1.0)
    assert statuses(server, http, 3) == [500, 500, 500]
    server.clear_faults()
    server.inject("500", rate=0.0)
    assert statuses(server, http, 3) == [202, 202, 202]


def test_random_faults_replay_with_the_seed(http: requests.Session) -> None:
    runs = []
    for seed in (7, 7, 8):
        with FakeIntercom(seed=seed) as fake:
            fake.add_user(user_id=USER)
            fake.inject("503", rate=0.5)
            runs.append(statuses(fake, http, 24))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert {503, 202} == set(runs[0])


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"kind": "418"}, ValueError),
        ({"kind": "500", "rate": 1.5}, ValueError),
        ({"kind": "500", "first": -1}, ValueError),
        ({"kind": "slow", "delay": -1.0}, ValueError),
    ],
)
def test_inject_refuses_bad_rules(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        FakeIntercom().inject(**kwargs)


# -- rate limit --------------------------------------------------------------------------------


def test_rate_limit_windows_follow_the_clock() -> None:
    now = [1003.0]
    with FakeIntercom(rate_limit=3, clock=lambda: now[0]) as fake, requests.Session() as http:
        http.headers.update(AUTH)
        fake.add_user(user_id=USER)
        assert "X-RateLimit-Limit" not in requests.get(f"{fake.url}/events", timeout=5).headers
        responses = [post(http, fake, event(created_at=T0 + n)) for n in range(3)]
        assert [r.status_code for r in responses] == [202, 202, 202]  # the 401 did not count
        assert [r.headers["X-RateLimit-Remaining"] for r in responses] == ["2", "1", "0"]
        assert {
            (r.headers["X-RateLimit-Limit"], r.headers["X-RateLimit-Reset"]) for r in responses
        } == {("3", "1010")}
        assert responses[0].headers["Date"] == "Thu, 01 Jan 1970 00:16:43 GMT"  # the fake clock
        over = post(http, fake, event(created_at=T0 + 3))
        error = assert_error(over, 429, "rate_limit_exceeded")
        assert error["message"] == "Exceeded rate limit of 3 in 10_seconds"
        assert over.headers["X-RateLimit-Remaining"] == "0"
        now[0] = 1009.99
        assert get_events(http, fake, user_id=USER).status_code == 429
        now[0] = 1010.0
        fresh = get_events(http, fake, user_id=USER)
        assert fresh.status_code == 200
        assert (fresh.headers["X-RateLimit-Remaining"], fresh.headers["X-RateLimit-Reset"]) == (
            "2",
            "1020",
        )
        assert len(fake.events) == 3


def test_no_rate_limit_headers_without_a_limit(
    server: FakeIntercom, http: requests.Session
) -> None:
    server.add_user(user_id=USER)
    assert not any(h.startswith("X-RateLimit") for h in post(http, server, event()).headers)


# -- recorded requests -------------------------------------------------------------------------


def test_recorded_requests_keep_the_wire_form(server: FakeIntercom, http: requests.Session) -> None:
    server.add_user(user_id=USER)
    body = b'{"event_name":"x","created_at":1,"user_id":"314159"}'
    post(http, server, body, headers={"X-Custom-Header": "yes"})
    http.get(f"{server.url}/events?type=user&email=a%2Bb%40x.com&per_page=2", timeout=5)
    requests.get(f"{server.url}/events?x=%20y", timeout=5)  # rejected (401) but recorded
    created, listed, rejected = server.requests
    assert isinstance(created, RecordedRequest)
    assert (created.method, created.path, created.query_string) == ("POST", "/events", "")
    assert created.body == body
    assert created.json() == json.loads(body)
    assert created.headers["X-Custom-Header"] == "yes"
    assert created.headers["Authorization"] == f"Bearer {TOKEN}"
    assert listed.query_string == "type=user&email=a%2Bb%40x.com&per_page=2"
    assert listed.query == {"type": ["user"], "email": ["a+b@x.com"], "per_page": ["2"]}
    assert (rejected.query_string, rejected.query) == ("x=%20y", {"x": [" y"]})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        created.path = "/other"  # type: ignore[misc]
    server.requests.clear()
    assert len(server.requests) == 3


# -- lifecycle ---------------------------------------------------------------------------------


def fake_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "FakeIntercom"]


def test_explicit_start_and_stop() -> None:
    fake = FakeIntercom()
    with pytest.raises(RuntimeError):
        _ = fake.url
    fake.start()
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", fake.url)
        with pytest.raises(RuntimeError):
            fake.start()
        assert requests.get(f"{fake.url}/events", timeout=5).status_code == 401
        assert len(fake_threads()) == 1
        url = fake.url
    finally:
        fake.stop()
    assert fake_threads() == []
    fake.stop()  # idempotent
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/events", timeout=5)


@pytest.mark.parametrize("mid_request", [False, True], ids=["idle", "mid-request"])
def test_stop_closes_every_open_connection(mid_request: bool) -> None:
    with FakeIntercom() as fake:  # stopped below; leaving the block stops it again, a no-op
        fake.inject("slow", delay=30.0)
        address = ("127.0.0.1", int(fake.url.rsplit(":", 1)[1]))
        with socket.create_connection(address, timeout=10) as client:
            if mid_request:
                client.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
                deadline = time.monotonic() + 10
                while not fake.requests and time.monotonic() < deadline:
                    time.sleep(0.01)
                assert len(fake.requests) == 1
            started = time.monotonic()
            fake.stop()
            assert time.monotonic() - started < 5  # the slow handler did not hold it up
            try:
                received = client.recv(1024)
            except ConnectionResetError:  # not yet accepted when the listening socket closed
                received = b""
            assert received == b""  # the server closed our connection
    gc.collect()  # with warnings as errors, a leaked transport would fail here


def test_binds_the_requested_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with FakeIntercom(port=port, token="other") as fake:
        assert fake.url == f"http://127.0.0.1:{port}"
        assert fake.token == "other"
        response = requests.get(
            f"{fake.url}/events", headers={"Authorization": "Bearer other"}, timeout=5
        )
        assert_error(response, 400, "parameter_not_found", "type")


def test_add_user_ids_follow_the_seed() -> None:
    ids = [FakeIntercom(seed=s).add_user(user_id="a") for s in (1, 1, 2)]
    assert ids[0] == ids[1] != ids[2]
    assert all(re.fullmatch(r"[0-9a-f]{24}", i) for i in ids)
    fake = FakeIntercom()
    assert fake.add_user(user_id="a") != fake.add_user(email="b@example.com")
    with pytest.raises(ValueError, match="user_id"):
        fake.add_user()
    with pytest.raises(ValueError, match="exists"):
        fake.add_user(user_id="a")


def test_concurrent_requests_are_all_stored(server: FakeIntercom) -> None:
    server.add_user(user_id=USER)

    def send(worker: int) -> None:
        with requests.Session() as session:
            session.headers.update(AUTH)
            for n in range(10):
                body = event(created_at=T0 + worker * 100 + n)
                assert post(session, server, body).status_code == 202
                assert len(server.events) >= n + 1

    threads = [threading.Thread(target=send, args=(w,)) for w in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(server.events) == 50


async def test_async_usage_runs_on_the_current_loop() -> None:
    threads = threading.active_count()
    async with FakeIntercom() as fake, aiohttp.ClientSession(headers=AUTH) as session:
        assert threading.active_count() == threads
        fake.add_user(email="a+b@x.com")
        body = event(user_id=DROP, email="a+b@x.com")
        async with session.post(f"{fake.url}/events", json=body) as response:
            assert response.status == 202
        params = {"type": "user", "email": "a+b@x.com"}
        async with session.get(f"{fake.url}/events", params=params) as response:
            assert response.status == 200
            listed = await response.json()
        assert [e["event_name"] for e in listed["events"]] == ["placed-order"]
        fake.inject("drop_after", first=1)
        with pytest.raises(aiohttp.ServerDisconnectedError):
            async with session.post(f"{fake.url}/events", json={**body, "created_at": 1}):
                pass
        assert len(fake.events) == 2
    with pytest.raises(RuntimeError):
        _ = fake.url


# -- command line ------------------------------------------------------------------------------


def test_parse_fault() -> None:
    assert parse_fault("500") == FaultSpec("500")
    assert parse_fault("503:first=2") == FaultSpec("503", first=2)
    assert parse_fault("429:rate=0.25") == FaultSpec("429", rate=0.25)
    assert parse_fault("slow:first=1:rate=0.1:delay=0.5") == FaultSpec("slow", 1, 0.1, 0.5)
    for bad in (
        "418",
        "500:first=x",
        "500:foo=1",
        "500:rate=2",
        "500:first",
        "500:first=1:first=2",
    ):
        with pytest.raises(Exception, match="fault"):
            parse_fault(bad)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_standalone_server(stop_signal: signal.Signals) -> None:
    command = [
        sys.executable, "-m", "intercom_events.testing", "--port", "0", "--token", "cli-token",
        "--user", USER, "--rate-limit", "100", "--fault", "503:first=1", "--seed", "3",
    ]  # fmt: skip
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        watchdog = threading.Timer(20, process.kill)
        watchdog.start()
        try:
            assert process.stdout is not None
            first_line = process.stdout.readline()
            match = re.search(r"http://127\.0\.0\.1:\d+", first_line)
            assert match, first_line + process.stderr.read()  # type: ignore[union-attr]
            assert "Token: cli-token" in process.stdout.readline()
            url = match.group(0)
            with requests.Session() as http:
                http.headers["Authorization"] = "Bearer cli-token"
                created = http.post(f"{url}/events", json=event(), timeout=5)
                assert created.status_code == 503
                created = http.post(f"{url}/events", json=event(), timeout=5)
                assert created.status_code == 202
                assert created.headers["X-RateLimit-Limit"] == "100"
                listed = http.get(f"{url}/events", params={"type": "user", "user_id": USER})
                assert [e["created_at"] for e in listed.json()["events"]] == [T0]
            process.send_signal(stop_signal)
            assert process.wait(timeout=10) == 0
        finally:
            watchdog.cancel()
            if process.poll() is None:
                process.kill()


def test_standalone_rejects_bad_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "intercom_events.testing", "--fault", "teapot"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 2
    assert "unknown fault kind" in result.stderr


def test_a_busy_port_fails_without_leaking_a_thread() -> None:
    with FakeIntercom() as first:
        port = int(first.url.rsplit(":", 1)[1])
        with pytest.raises(OSError, match=r"(?i)in use"):
            FakeIntercom(port=port).start()
        assert len(fake_threads()) == 1
    assert fake_threads() == []


QUIET = """
import logging, socket, time
from intercom_events.testing import FakeIntercom

logging.basicConfig(level=logging.WARNING)  # anything aiohttp logs at WARNING or above shows
with FakeIntercom() as fake:
    fake.add_user(user_id="1")
    fake.inject("slow", rate=1.0, delay=3)
    host, port = fake.url.removeprefix("http://").split(":")
    auth = b"Authorization: Bearer test-token\\r\\n"
    gone = socket.create_connection((host, int(port)))  # leaves halfway through its body
    head = b"POST /events HTTP/1.1\\r\\nHost: x\\r\\n"
    gone.sendall(head + auth + b"Content-Length: 50\\r\\n\\r\\n")
    time.sleep(0.2)
    gone.close()
    waiting = socket.create_connection((host, int(port)))  # in flight when the fake stops
    head = b"GET /events?type=user&user_id=1 HTTP/1.1\\r\\nHost: x\\r\\n"
    waiting.sendall(head + auth + b"\\r\\n")
    time.sleep(0.3)
time.sleep(3.2)  # past the slow answer, which finishes after the stop
waiting.close()
print("done")
"""


def test_disconnects_and_stops_mid_request_print_no_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", QUIET], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "done"
    assert "Traceback" not in done.stderr, done.stderr
    assert "Error handling request" not in done.stderr, done.stderr
