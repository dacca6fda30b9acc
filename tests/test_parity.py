"""The sync and async clients (and their raw views) offer the same operations."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

import intercom_events
from intercom_events import (
    AsyncDataEventsClient,
    AsyncRawDataEventsClient,
    DataEventsClient,
    RawDataEventsClient,
)

LIFECYCLE = {"close", "aclose"}


def _operations(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in LIFECYCLE
    }


@pytest.mark.parametrize(
    ("sync_cls", "async_cls"),
    [(DataEventsClient, AsyncDataEventsClient), (RawDataEventsClient, AsyncRawDataEventsClient)],
)
def test_same_operations_and_signatures(sync_cls: type, async_cls: type) -> None:
    sync_ops, async_ops = _operations(sync_cls), _operations(async_cls)
    assert set(sync_ops) == set(async_ops)
    assert {"create_data_event", "list_data_events", "create_data_event_summaries"} <= set(sync_ops)
    for name, signature in sync_ops.items():
        other = async_ops[name]
        assert list(signature.parameters) == list(other.parameters), name
        for param, spec in signature.parameters.items():
            mirrored = other.parameters[param]
            assert (spec.kind, spec.default) == (mirrored.kind, mirrored.default), (name, param)
        if name == "iter_data_events":
            assert not inspect.iscoroutinefunction(getattr(async_cls, name))
        else:
            assert inspect.iscoroutinefunction(getattr(async_cls, name)), name
            assert not inspect.iscoroutinefunction(getattr(sync_cls, name)), name


def test_constructors_take_the_same_arguments() -> None:
    sync = inspect.signature(DataEventsClient)
    async_ = inspect.signature(AsyncDataEventsClient)
    assert list(sync.parameters) == list(async_.parameters)
    assert [p.default for p in sync.parameters.values()] == [
        p.default for p in async_.parameters.values()
    ]


def test_public_names_are_exported() -> None:
    for name in intercom_events.__all__:
        assert getattr(intercom_events, name) is not None
    design = [
        "DataEventsClient",
        "AsyncDataEventsClient",
        "RawDataEventsClient",
        "AsyncRawDataEventsClient",
        "IntercomHttpResponse",
        "RequestOptions",
        "RateLimit",
        "DataEvent",
        "DataEventList",
        "Pages",
        "DataEventSummary",
        "DataEventSummaryItem",
        "EventSummary",
        "RichLink",
        "MonetaryAmount",
        "BulkResult",
        "FailedEvent",
        "IntercomError",
        "APIStatusError",
        "BadRequestError",
        "UnauthorizedError",
        "ForbiddenError",
        "NotFoundError",
        "ConflictError",
        "UnprocessableEntityError",
        "TooManyRequestsError",
        "InternalServerError",
        "APIConnectionError",
        "APITimeoutError",
        "ResponseDecodeError",
        "InvalidEventError",
        "ErrorDetail",
        "RetryPolicy",
    ]
    assert set(design) <= set(intercom_events.__all__)
    assert issubclass(intercom_events.APITimeoutError, intercom_events.APIConnectionError)
    assert issubclass(intercom_events.InvalidEventError, ValueError)


def test_aiohttp_is_not_imported_by_import_or_by_a_sync_client() -> None:
    code = (
        "import sys, intercom_events\n"
        "assert 'aiohttp' not in sys.modules, 'import'\n"
        "intercom_events.DataEventsClient(token='t').close()\n"
        "assert 'aiohttp' not in sys.modules, 'sync client'\n"
        "assert 'requests' not in sys.modules, 'requests loads with the first request'\n"
        "assert 'asyncio' not in sys.modules, 'asyncio loads with the async client'\n"
        "intercom_events.AsyncDataEventsClient(token='t')\n"
        "assert 'aiohttp' not in sys.modules, 'async client before use'\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "ok", done.stderr
