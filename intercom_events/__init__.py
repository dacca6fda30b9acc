"""intercom-events: a typed, reliable client for Intercom's Data Events API.

``DataEventsClient`` for scripts and threads (on requests); ``AsyncDataEventsClient`` for
asyncio (on aiohttp, imported only when first used). See the README for a tour.
"""

import logging
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .client import DataEventsClient
from .config import RequestOptions
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    ConflictError,
    ErrorDetail,
    ForbiddenError,
    IntercomError,
    IntercomEventWarning,
    InternalServerError,
    InvalidEventError,
    NotFoundError,
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
    MonetaryAmount,
    Pages,
    RichLink,
)
from .ratelimit import RateLimit
from .raw import AsyncRawDataEventsClient, RawDataEventsClient
from .response import IntercomHttpResponse
from .retry import RetryPolicy
from .validation import flatten_metadata

if TYPE_CHECKING:
    from .aio_client import AsyncDataEventsClient

logging.getLogger("intercom_events").addHandler(logging.NullHandler())


def __getattr__(name: str) -> Any:
    # The async client (and with it asyncio) is imported on first use: sync scripts and
    # CLIs start faster without it.
    if name == "AsyncDataEventsClient":
        from .aio_client import AsyncDataEventsClient

        return AsyncDataEventsClient
    raise AttributeError(f"module 'intercom_events' has no attribute {name!r}")


__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncDataEventsClient",
    "AsyncRawDataEventsClient",
    "BadRequestError",
    "BulkResult",
    "ConflictError",
    "DataEvent",
    "DataEventList",
    "DataEventSummary",
    "DataEventSummaryItem",
    "DataEventsClient",
    "ErrorDetail",
    "EventSummary",
    "FailedEvent",
    "ForbiddenError",
    "IntercomError",
    "IntercomEventWarning",
    "IntercomHttpResponse",
    "InternalServerError",
    "InvalidEventError",
    "MonetaryAmount",
    "NotFoundError",
    "Pages",
    "RateLimit",
    "RawDataEventsClient",
    "RequestOptions",
    "ResponseDecodeError",
    "RetryPolicy",
    "RichLink",
    "TooManyRequestsError",
    "UnauthorizedError",
    "UnprocessableEntityError",
    "__version__",
    "flatten_metadata",
]
