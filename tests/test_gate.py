"""The rate-limit gate as a pure state machine, on a hand-driven clock."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from intercom_events import DataEvent
from intercom_events._core.headers import Headers
from intercom_events._core.ratelimit import MARGIN, PROBE_POLL, RateWindow


def limit_headers(remaining: int, reset: int, limit: int = 5, date: float | None = None) -> Headers:
    headers = {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(reset),
    }
    if date is not None:
        headers["Date"] = format_datetime(datetime.fromtimestamp(date, UTC), usegmt=True)
    return Headers(headers)


def test_first_request_probes_alone_then_no_limit_means_no_waiting() -> None:
    gate = RateWindow()
    assert gate.reserve(0.0) == 0
    assert gate.reserve(0.0) == PROBE_POLL  # a second caller waits for the first answer
    gate.record(Headers(), 0.1)  # an answer without rate-limit headers
    assert [gate.reserve(0.1) for _ in range(50)] == [0] * 50
    assert gate.latest is None


def test_a_failed_probe_lets_the_next_request_try() -> None:
    gate = RateWindow()
    assert gate.reserve(0.0) == 0
    gate.record(None, 0.5)  # connection error: no answer
    assert gate.reserve(0.5) == 0


def test_spent_window_waits_for_the_reset_then_rolls_over() -> None:
    gate = RateWindow()
    assert gate.reserve(100.0) == 0
    gate.record(limit_headers(remaining=2, reset=110), 100.0)
    assert gate.latest is not None
    assert (gate.latest.limit, gate.latest.remaining) == (5, 2)
    assert gate.reserve(101.0) == 0
    assert gate.reserve(101.0) == 0
    assert gate.reserve(101.0) == pytest.approx(9 + MARGIN)
    # After the reset the window's full allowance is back, even before any new answer.
    assert [gate.reserve(110.0) for _ in range(5)] == [0] * 5
    # Its end is not assumed (no fixed 10 s): spent, the gate polls until an answer says.
    assert gate.reserve(110.0) == PROBE_POLL
    gate.record(limit_headers(remaining=0, reset=113), 110.5)  # a 3-second window
    assert gate.reserve(110.5) == pytest.approx(2.5 + MARGIN)
    # An answer from a window already over tells nothing.
    gate.record(limit_headers(remaining=5, reset=110), 111.0)
    assert gate.reserve(111.0) == pytest.approx(2 + MARGIN)


def test_requests_in_flight_count_against_the_allowance() -> None:
    gate = RateWindow()
    gate.reserve(0.0)
    gate.record(limit_headers(remaining=4, reset=10), 0.0)
    assert [gate.reserve(9.0) for _ in range(2)] == [0, 0]
    # One of those two answers from the next window: 3 remain there, but the other request
    # is still in flight and will count too, so only 2 may go.
    gate.record(limit_headers(remaining=3, reset=20), 10.5)
    assert [gate.reserve(10.5) for _ in range(2)] == [0, 0]
    assert gate.reserve(10.5) == pytest.approx(9.5 + MARGIN)


def test_reset_is_read_against_the_server_date() -> None:
    gate = RateWindow()
    gate.reserve(5000.0)
    # Our clock is an hour ahead of the server's: the reset is 4 s after the server's Date.
    gate.record(limit_headers(remaining=0, reset=1004, date=1000), 5000.0)
    assert gate.reserve(5000.0) == pytest.approx(4 + MARGIN)


def test_a_reset_implausibly_far_away_is_ignored() -> None:
    gate = RateWindow()
    gate.reserve(0.0)
    gate.record(limit_headers(remaining=0, reset=10_000), 0.0)
    assert gate.reserve(0.0) == 0


def test_a_gate_wait_never_sleeps_past_max_wait() -> None:
    from intercom_events import RequestOptions, RetryPolicy
    from intercom_events._core import operations
    from intercom_events._core.calls import Attempts

    from .test_core import CONFIG

    options = RequestOptions(retry_policy=RetryPolicy(max_wait=2.0))
    call = operations.create_data_event(
        CONFIG, DataEvent("e", user_id="1"), options, now=1_700_000_000
    )[1]
    attempts = Attempts(call)
    assert attempts.gate_wait(9.5) == 2.0  # asked again after 2 s
    assert attempts.gate_wait(0.5) == 0.5


def test_a_closing_client_makes_no_retry() -> None:
    from intercom_events import APIConnectionError
    from intercom_events._core import operations
    from intercom_events._core.calls import Attempts, RawResponse

    from .test_core import CONFIG

    call = operations.create_data_event(CONFIG, DataEvent("e", user_id="1"), now=1_700_000_000)[1]
    attempts = Attempts(call)
    attempts.before_attempt(closing=True)  # made before the close: its first attempt goes
    assert attempts.step(RawResponse(503, Headers(), b""), closing=False).after >= 0
    with pytest.raises(APIConnectionError, match="outcome is unknown"):  # tried: unknown
        attempts.before_attempt(closing=True)
    failed = APIConnectionError("dropped")
    with pytest.raises(APIConnectionError, match="outcome is unknown"):  # no retry on close
        attempts.step(failed, closing=True)
