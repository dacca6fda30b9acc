"""intercom-events: a typed, reliable client for Intercom's Data Events API.

``DataEventsClient`` for scripts and threads (on requests); ``AsyncDataEventsClient`` for
asyncio (on aiohttp, imported only when first used). See the README for a tour.
"""

import logging

from ._version import __version__
from .aio_client import AsyncDataEventsClient
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

logging.getLogger("intercom_events").addHandler(logging.NullHandler())

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
