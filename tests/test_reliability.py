"""Retries, server hints, the rate-limit gate and timeouts, over real HTTP with faults."""

from __future__ import annotations

import asyncio
import logging
import math
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from intercom_events import (
    APIConnectionError,
    APITimeoutError,
    DataEventsClient,
    EventSummary,
    InternalServerError,
    NotFoundError,
    RequestOptions,
    RetryPolicy,
    TooManyRequestsError,
    UnauthorizedError,
)
from intercom_events.testing import FakeIntercom

from .conftest import make_client

FAST = RetryPolicy(base=0.01, cap=0.05)


def _client(kind: str, fake: FakeIntercom, **kwargs: Any) -> Any:
    options: dict[str, Any] = {"retry_policy": FAST, **kwargs}
    return make_client(kind, token=fake.token, base_url=fake.url, **options)


@pytest.mark.parametrize(
    "fault",
    ["500", "502", "503", "html_502", "429", "429_retry_after", "drop_before", "drop_after"],
)
async def test_each_fault_once_then_success_stores_the_event_once(
    api_kind: str, fake: FakeIntercom, fault: str
) -> None:
    fake.add_user(user_id="1")
    fake.inject(fault, first=1)
    client = _client(api_kind, fake)
    raw = await client.raw("create_data_event", event_name="paid", user_id="1")
    await client.close()
    assert raw.status_code == 202
    assert raw.retries_taken == 1
    assert len(fake.requests) == 2
    assert fake.requests[0].body == fake.requests[1].body  # created_at pinned before attempt 1
    assert len(fake.events) == 1


async def test_slow_response_times_out_and_the_retry_is_deduplicated(
    api_kind: str, fake: FakeIntercom
) -> None:
    fake.add_user(user_id="1")
    fake.inject("slow", first=1, delay=0.5)
    client = _client(api_kind, fake, timeout=0.2)
    raw = await client.raw("create_data_event", event_name="paid", user_id="1")
    await client.close()
    assert raw.retries_taken == 1
    await asyncio.sleep(0.6)  # let the slow first attempt finish on the server
    assert len(fake.requests) == 2
    assert len(fake.events) == 1


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        ("bad_token", UnauthorizedError),
        ("unknown_user", NotFoundError),
    ],
)
async def test_client_errors_are_not_retried(
    api_kind: str, fake: FakeIntercom, setup: str, error: type[Exception]
) -> None:
    token = "wrong" if setup == "bad_token" else fake.token
    client = make_client(api_kind, token=token, base_url=fake.url, max_retries=5)
    with pytest.raises(error):
        await client.call("create_data_event", event_name="e", user_id="nobody")
    await client.close()
    assert len(fake.requests) == 1


@pytest.mark.parametrize("fault", ["429", "429_retry_after"])
async def test_server_hints_are_waited_for_in_full(
    api_kind: str, fake: FakeIntercom, fault: str
) -> None:
    fake.add_user(user_id="1")
    fake.inject(fault, first=1)
    client = _client(api_kind, fake)
    started = time.monotonic()
    raw = await client.raw("list_data_events", user_id="1")
    waited = time.monotonic() - started
    await client.close()
    assert raw.retries_taken == 1
    # Retry-After: 1, or X-RateLimit-Reset one second after the response's Date.
    assert waited >= 0.9


async def test_a_hint_beyond_the_cap_raises_at_once(api_kind: str, fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    fake.inject("429_retry_after", first=1)
    client = _client(api_kind, fake, retry_policy=RetryPolicy(max_wait=0.5))
    with pytest.raises(TooManyRequestsError) as caught:
        await client.call("list_data_events", user_id="1")
    await client.close()
    assert caught.value.retry_after == 1
    assert caught.value.errors[0].code == "rate_limit_exceeded"
    assert len(fake.requests) == 1


async def test_retries_are_configurable_per_client_and_per_call(
    api_kind: str, fake: FakeIntercom
) -> None:
    fake.add_user(user_id="1")
    fake.inject("500", first=3)
    client = _client(api_kind, fake, max_retries=3)
    with pytest.raises(InternalServerError):
        await client.call(
            "list_data_events", user_id="1", request_options=RequestOptions(max_retries=1)
        )
    assert len(fake.requests) == 2
    raw = await client.raw("list_data_events", user_id="1")  # one 500 left, then success
    assert raw.retries_taken == 1
    await client.close()


def _clock_near_window_end(seconds_left: float) -> Callable[[], float]:
    """A clock for the fake whose current 10-second window ends in ``seconds_left``."""
    offset = 10 - (time.time() % 10) - seconds_left
    return lambda: time.time() + offset


async def test_the_gate_waits_for_the_window_instead_of_hitting_429(api_kind: str) -> None:
    with FakeIntercom(rate_limit=5, clock=_clock_near_window_end(1.5)) as fake:
        fake.add_user(user_id="1")
        client = _client(api_kind, fake, max_retries=0)
        for second in range(8):
            await client.call("create_data_event", event_name="e", user_id="1", created_at=second)
        rate_limit = client.client.rate_limit
        await client.close()
        assert len(fake.events) == 8
        assert len(fake.requests) == 8  # max_retries=0: a single 429 would have raised
    assert rate_limit is not None
    assert (rate_limit.limit, rate_limit.remaining) == (5, 2)


async def test_concurrent_callers_share_the_gate(api_kind: str) -> None:
    with FakeIntercom(rate_limit=5, clock=_clock_near_window_end(1.5)) as fake:
        fake.add_user(user_id="1")
        client = _client(api_kind, fake, max_retries=0)

        async def send(n: int) -> None:
            await client.call("create_data_event", event_name="e", user_id="1", created_at=n)

        if api_kind == "async":
            await asyncio.gather(*(send(n) for n in range(8)))
        else:
            errors: list[BaseException] = []

            def run(n: int) -> None:
                try:
                    asyncio.run(send(n))
                except BaseException as exc:  # pragma: no cover - asserted below
                    errors.append(exc)

            threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert errors == []
        await client.close()
        assert len(fake.requests) == 8
        assert len(fake.events) == 8


async def test_a_slow_server_raises_timeout_within_the_budget(
    api_kind: str, fake: FakeIntercom
) -> None:
    fake.add_user(user_id="1")
    fake.inject("slow", delay=1.5)
    client = _client(api_kind, fake, timeout=0.2, max_retries=1)
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as caught:
        await client.call("list_data_events", user_id="1")
    elapsed = time.monotonic() - started
    await client.close()
    assert caught.value.request_sent is True
    assert len(fake.requests) == 2
    # Two attempts of 0.2 s and one short backoff: far less than one slow answer (1.5 s).
    assert elapsed < 1.2
    fake.clear_faults()
    await asyncio.sleep(1.5)


async def test_no_timeout_when_disabled_explicitly(api_kind: str, fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    fake.inject("slow", first=1, delay=0.4)
    client = _client(api_kind, fake, timeout=0.1)
    raw = await client.raw(
        "list_data_events", user_id="1", request_options=RequestOptions(timeout=None)
    )
    await client.close()
    assert raw.retries_taken == 0


SUMMARY = [EventSummary("imported", count=2, first=1, last=2)]


@pytest.mark.parametrize(
    ("fault", "retried"),
    [("503", True), ("429", True), ("500", False), ("drop_before", False), ("drop_after", False)],
)
async def test_summaries_are_retried_only_where_they_surely_did_not_apply(
    api_kind: str, fake: FakeIntercom, fault: str, retried: bool
) -> None:
    fake.add_user(user_id="1")
    fake.inject(fault, first=1)
    client = _client(api_kind, fake)
    if retried:
        await client.call("create_data_event_summaries", user_id="1", event_summaries=SUMMARY)
        assert len(fake.requests) == 2
    else:
        with pytest.raises((InternalServerError, APIConnectionError)):
            await client.call("create_data_event_summaries", user_id="1", event_summaries=SUMMARY)
        assert len(fake.requests) == 1
    await client.close()


async def test_summaries_are_not_retried_after_a_read_timeout(
    api_kind: str, fake: FakeIntercom
) -> None:
    fake.add_user(user_id="1")
    fake.inject("slow", first=1, delay=0.4)
    client = _client(api_kind, fake, timeout=0.1)
    with pytest.raises(APITimeoutError):
        await client.call("create_data_event_summaries", user_id="1", event_summaries=SUMMARY)
    await client.close()
    await asyncio.sleep(0.5)
    assert len(fake.requests) == 1
    summary = await _summary_count(api_kind, fake)
    assert summary == 2  # applied once, by the attempt that timed out


async def _summary_count(kind: str, fake: FakeIntercom) -> int:
    client = make_client(kind, token=fake.token, base_url=fake.url)
    summary = await client.call("list_data_events", user_id="1", summary=True)
    await client.close()
    return int(summary.events[0].count)


async def test_connection_refused_is_retried_even_for_summaries(
    api_kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    caplog.set_level(logging.DEBUG, logger="intercom_events")
    client = make_client(
        api_kind, token="t", base_url=f"http://127.0.0.1:{port}", retry_policy=FAST
    )
    with pytest.raises(APIConnectionError) as caught:
        await client.call("create_data_event_summaries", user_id="1", event_summaries=SUMMARY)
    await client.close()
    assert caught.value.request_sent is False
    attempts = [
        r.getMessage() for r in caplog.records if "/events/summaries attempt" in r.getMessage()
    ]
    assert len(attempts) == 3
    assert "retry in" in attempts[0]
    assert attempts[-1].endswith("done")


SOAK_EVENTS = 300
SOAK_FAULTS = [
    ("500", 0.06),
    ("502", 0.04),
    ("503", 0.05),
    ("drop_before", 0.05),
    ("drop_after", 0.05),
    ("429", 0.01),
]


async def test_soak_every_event_stored_exactly_once(api_kind: str) -> None:
    with FakeIntercom(rate_limit=100_000, seed=7) as fake:
        for user in range(10):
            fake.add_user(user_id=f"u{user}")
        for kind, rate in SOAK_FAULTS:
            fake.inject(kind, rate=rate)
        client = _client(api_kind, fake, max_retries=8)
        retries: list[int] = []

        async def send(n: int) -> None:
            raw = await client.raw(
                "create_data_event", event_name="soaked", user_id=f"u{n % 10}", created_at=n
            )
            retries.append(raw.retries_taken)

        if api_kind == "async":
            gate = asyncio.Semaphore(16)

            async def bounded(n: int) -> None:
                async with gate:
                    await send(n)

            await asyncio.gather(*(bounded(n) for n in range(SOAK_EVENTS)))
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda n: asyncio.run(send(n)), range(SOAK_EVENTS)))
        await client.close()
        stored = sorted(e["created_at"] for e in fake.events)
        requests = len(fake.requests)
    assert stored == list(range(SOAK_EVENTS))  # every event, exactly once
    assert sum(retries) == requests - SOAK_EVENTS
    fault_share = 1 - SOAK_EVENTS / requests
    assert 0.15 < fault_share < 0.35
    print(
        f"soak[{api_kind}]: {SOAK_EVENTS} events, {requests} requests, max {max(retries)} retries"
    )
    assert math.isfinite(fault_share)


def test_a_sync_call_cut_by_ctrl_c_frees_its_rate_gate_slot(fake: FakeIntercom) -> None:
    # The first request of a client probes alone; if Ctrl-C cut it and its slot stayed taken,
    # every later call would wait for an answer that never comes.
    fake.add_user(user_id="1")
    fake.inject("slow", first=1, delay=2.0)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        with DataEventsClient(token=fake.token, base_url=fake.url) as client:
            signal.setitimer(signal.ITIMER_REAL, 0.3)
            with pytest.raises(KeyboardInterrupt):
                client.list_data_events(user_id="1")
            started = time.monotonic()
            page = client.list_data_events(user_id="1")
            elapsed = time.monotonic() - started
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert page.events == ()
    assert elapsed < 5
    assert len(fake.requests) == 2
