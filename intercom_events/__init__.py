"""intercom-events: a typed, reliable client for Intercom's Data Events API.

``DataEventsClient`` for scripts and threads (on requests); ``AsyncDataEventsClient`` for
asyncio (on aiohttp, imported only when first used). See the README for a tour.

The names below are the public surface; besides them only ``intercom_events.testing`` (the
fake Intercom) and ``intercom_events.pytest_plugin`` are public. The layers, top down:
clients and raw views (``client``, ``aio_client``, ``raw``) → executors (``_transport``) →
the sans-I/O core (``_core``) → ``models`` and ``errors``; ``cli`` and ``_notebook`` sit on
top. Imports point down only.
"""

import logging
from typing import TYPE_CHECKING, Any

from ._core.config import RequestOptions
from ._core.ratelimit import RateLimit
from ._core.response import IntercomHttpResponse
from ._core.retry import RetryPolicy
from ._core.validation import flatten_metadata
from ._tracking.outbox import MemoryOutbox
from ._tracking.sqlite import SQLiteOutbox
from ._version import __version__
from .client import DataEventsClient
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    ClientClosedError,
    ConflictError,
    ErrorDetail,
    ForbiddenError,
    IntercomError,
    IntercomEventWarning,
    InternalServerError,
    InvalidEventError,
    NotFoundError,
    OutboxFullError,
    ResponseDecodeError,
    TooManyRequestsError,
    UnauthorizedError,
    UnprocessableEntityError,
)
from .models import (
    BulkResult,
    DataEvent,
    DataEventList,
    DataEventSummary,
    DataEventSummaryItem,
    EventSummary,
    FailedEvent,
    GateStats,
    MonetaryAmount,
    Pages,
    RichLink,
    TrackingStats,
)
from .pager import AsyncDataEventPager, DataEventPager
from .raw import AsyncRawDataEventsClient, RawDataEventsClient

if TYPE_CHECKING:
    from ._fleet.redis_gate import RedisRateGate
    from .aio_client import AsyncDataEventsClient

logging.getLogger("intercom_events").addHandler(logging.NullHandler())


def __getattr__(name: str) -> Any:
    # The async client (and with it asyncio) is imported on first use: sync scripts and
    # CLIs start faster without it.
    if name == "AsyncDataEventsClient":
        from .aio_client import AsyncDataEventsClient

        return AsyncDataEventsClient
    if name == "RedisRateGate":  # it needs asyncio too (and redis, once one is made)
        from ._fleet.redis_gate import RedisRateGate

        return RedisRateGate
    raise AttributeError(f"module 'intercom_events' has no attribute {name!r}")


__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncDataEventPager",
    "AsyncDataEventsClient",
    "AsyncRawDataEventsClient",
    "BadRequestError",
    "BulkResult",
    "ClientClosedError",
    "ConflictError",
    "DataEvent",
    "DataEventList",
    "DataEventPager",
    "DataEventSummary",
    "DataEventSummaryItem",
    "DataEventsClient",
    "ErrorDetail",
    "EventSummary",
    "FailedEvent",
    "ForbiddenError",
    "GateStats",
    "IntercomError",
    "IntercomEventWarning",
    "IntercomHttpResponse",
    "InternalServerError",
    "InvalidEventError",
    "MemoryOutbox",
    "MonetaryAmount",
    "NotFoundError",
    "OutboxFullError",
    "Pages",
    "RateLimit",
    "RawDataEventsClient",
    "RedisRateGate",
    "RequestOptions",
    "ResponseDecodeError",
    "RetryPolicy",
    "RichLink",
    "SQLiteOutbox",
    "TooManyRequestsError",
    "TrackingStats",
    "UnauthorizedError",
    "UnprocessableEntityError",
    "__version__",
    "flatten_metadata",
]
