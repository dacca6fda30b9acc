"""The sync and async clients (and their raw views) offer the same operations.

Each operation's signature is written out in four classes, so that ``help()``, IDEs, Jupyter
and the API reference show real parameters; these tests keep the four copies identical
(names, kinds, defaults, annotations and every ``@overload``).
"""

from __future__ import annotations

import inspect
import subprocess
import sys
import typing

import pytest

import intercom_events
from intercom_events import (
    AsyncDataEventsClient,
    AsyncRawDataEventsClient,
    DataEventsClient,
    RawDataEventsClient,
)

LIFECYCLE = {"close", "aclose"}
PLAIN_ON_BOTH = {"iter_data_events", "track"}
"""Plain methods on the async client too: one returning a pager (an async iterator), and
track(), which never waits (it is called from inside the loop, e.g. in a request handler)."""
AWAITED_NOT_RAW = {"flush", "track"}
"""Tracking methods: on both clients, not on the raw views."""


def _operations(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in LIFECYCLE
    }


ASYNC_ALSO_TAKES = {"Iterable[DataEvent]": "Iterable[DataEvent] | AsyncIterable[DataEvent]"}
"""Where the async client accepts more: an async iterable of events as well."""


def _params(signature: inspect.Signature) -> list[tuple[str, object, object, object]]:
    return [(p.name, p.kind, p.default, p.annotation) for p in signature.parameters.values()]


def _as_async(params: list[tuple[str, object, object, object]]) -> list[object]:
    return [(n, k, d, ASYNC_ALSO_TAKES.get(str(a), a)) for n, k, d, a in params]


def _variants(cls: type, name: str) -> list[inspect.Signature]:
    """The operation's signature, then each of its overloads'."""
    function = getattr(cls, name)
    return [inspect.signature(function), *map(inspect.signature, typing.get_overloads(function))]


ASYNC_RETURNS = {"AsyncDataEventPager": "DataEventPager"}
"""The async client's return types that stand for a sync one (the pagers)."""


def _returns(cls: type, signature: inspect.Signature) -> str:
    returned = str(signature.return_annotation)
    return ASYNC_RETURNS.get(returned, returned)


PAIRS = [(DataEventsClient, AsyncDataEventsClient), (RawDataEventsClient, AsyncRawDataEventsClient)]


@pytest.mark.parametrize(("sync_cls", "async_cls"), PAIRS)
def test_same_operations_and_signatures(sync_cls: type, async_cls: type) -> None:
    sync_ops, async_ops = _operations(sync_cls), _operations(async_cls)
    assert set(sync_ops) == set(async_ops)
    assert {"create_data_event", "list_data_events", "create_data_event_summaries"} <= set(sync_ops)
    for name in sync_ops:
        sync_variants, async_variants = _variants(sync_cls, name), _variants(async_cls, name)
        assert len(sync_variants) == len(async_variants), name
        for mine, mirrored in zip(sync_variants, async_variants, strict=True):
            assert _as_async(_params(mine)) == _params(mirrored), name
            assert _returns(sync_cls, mine) == _returns(async_cls, mirrored), name
        if name in PLAIN_ON_BOTH:
            assert not inspect.iscoroutinefunction(getattr(async_cls, name))
        else:
            assert inspect.iscoroutinefunction(getattr(async_cls, name)), name
            assert not inspect.iscoroutinefunction(getattr(sync_cls, name)), name


@pytest.mark.parametrize(("client", "raw"), [(DataEventsClient, RawDataEventsClient)])
def test_each_raw_operation_mirrors_the_client_one(client: type, raw: type) -> None:
    assert set(_operations(client)) - set(_operations(raw)) == {"iter_data_events"} | (
        AWAITED_NOT_RAW
    ) | {"send_data_events"}
    for name in _operations(raw):
        client_variants, raw_variants = _variants(client, name), _variants(raw, name)
        assert len(client_variants) == len(raw_variants), name
        for mine, mirrored in zip(client_variants, raw_variants, strict=True):
            assert _params(mine) == _params(mirrored), name
            wrapped = "IntercomHttpResponse[None]" if mine.return_annotation == "None" else None
            expected = wrapped or f"IntercomHttpResponse[{mine.return_annotation}]"
            assert mirrored.return_annotation == expected, name


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
        "ClientClosedError",
        "MemoryOutbox",
        "SQLiteOutbox",
        "OutboxFullError",
        "TrackingStats",
        "DataEventPager",
        "AsyncDataEventPager",
    ]
    assert set(design) <= set(intercom_events.__all__)
    assert issubclass(intercom_events.OutboxFullError, intercom_events.IntercomError)
    assert issubclass(intercom_events.APITimeoutError, intercom_events.APIConnectionError)
    assert issubclass(intercom_events.InvalidEventError, ValueError)


def test_iter_data_events_returns_the_pagers() -> None:
    sync = inspect.signature(DataEventsClient.iter_data_events).return_annotation
    async_ = inspect.signature(AsyncDataEventsClient.iter_data_events).return_annotation
    assert (sync, async_) == ("DataEventPager", "AsyncDataEventPager")
    assert typing.get_type_hints(DataEventsClient.iter_data_events)["return"] is (
        intercom_events.DataEventPager
    )
    hints = typing.get_type_hints(AsyncDataEventsClient.iter_data_events)
    assert hints["return"] is intercom_events.AsyncDataEventPager


def test_aiohttp_is_not_imported_by_import_or_by_a_sync_client() -> None:
    code = (
        "import sys, intercom_events\n"
        "assert 'aiohttp' not in sys.modules, 'import'\n"
        "intercom_events.DataEventsClient(token='t').close()\n"
        "assert 'aiohttp' not in sys.modules, 'sync client'\n"
        "assert 'requests' not in sys.modules, 'requests loads with the first request'\n"
        "assert 'asyncio' not in sys.modules, 'asyncio loads with the async client'\n"
        "assert 'pandas' not in sys.modules, 'pandas loads with the first DataFrame'\n"
        "intercom_events.AsyncDataEventsClient(token='t')\n"
        "assert 'aiohttp' not in sys.modules, 'async client before use'\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "ok", done.stderr
