"""The raw views, ``client.with_raw_response``: every operation, returning the response.

:class:`IntercomHttpResponse` carries the status, headers, request id, rate limit and retries
taken besides the decoded ``data``, like the Java SDK's ``RawDataEventsClient``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, overload

from ._core import operations
from ._core.config import ClientConfig, RequestOptions
from ._core.response import IntercomHttpResponse
from ._core.timestamps import Pins
from .models import DataEvent, DataEventList, DataEventSummary, EventSummary, Metadata, Timestamp

if TYPE_CHECKING:
    from ._transport.aiohttp_executor import AiohttpExecutor
    from ._transport.requests_executor import RequestsExecutor

__all__ = ["AsyncRawDataEventsClient", "RawDataEventsClient"]


class RawDataEventsClient:
    """The operations of :class:`DataEventsClient`, returning :class:`IntercomHttpResponse`.

    Reached as ``client.with_raw_response``; use it for status, headers, request id, rate
    limit and retries taken.
    """

    def __init__(self, config: ClientConfig, executor: RequestsExecutor, pins: Pins) -> None:
        self._config = config
        self._executor = executor
        self._pins = pins

    def create_data_event(
        self,
        *,
        event_name: str,
        user_id: str | None = None,
        id: str | None = None,
        email: str | None = None,
        created_at: Timestamp | None = None,
        metadata: Metadata | None = None,
        request_options: RequestOptions | None = None,
    ) -> IntercomHttpResponse[DataEvent]:
        """``POST /events``; ``.data`` is the event as sent, ``created_at`` pinned."""
        event = DataEvent(
            event_name,
            created_at=created_at,
            user_id=user_id,
            id=id,
            email=email,
            metadata=metadata,
        )
        return self._executor.execute(
            operations.create_data_event(self._config, event, request_options, pins=self._pins)[1]
        )

    @overload
    def list_data_events(
        self,
        *,
        user_id: str | None = None,
        email: str | None = None,
        intercom_user_id: str | None = None,
        summary: Literal[False] = False,
        per_page: int | None = None,
        request_options: RequestOptions | None = None,
    ) -> IntercomHttpResponse[DataEventList]: ...

    @overload
    def list_data_events(
        self,
        *,
        user_id: str | None = None,
        email: str | None = None,
        intercom_user_id: str | None = None,
        summary: Literal[True],
        per_page: int | None = None,
        request_options: RequestOptions | None = None,
    ) -> IntercomHttpResponse[DataEventSummary]: ...

    @overload
    def list_data_events(
        self,
        *,
        user_id: str | None = None,
        email: str | None = None,
        intercom_user_id: str | None = None,
        summary: bool = False,
        per_page: int | None = None,
        request_options: RequestOptions | None = None,
    ) -> IntercomHttpResponse[DataEventList | DataEventSummary]: ...

    def list_data_events(
        self,
        *,
        user_id: str | None = None,
        email: str | None = None,
        intercom_user_id: str | None = None,
        summary: bool = False,
        per_page: int | None = None,
        request_options: RequestOptions | None = None,
    ) -> IntercomHttpResponse[DataEventList | DataEventSummary]:
        """``GET /events``: one page of a user's events, or with ``summary=True`` their counts."""
        call = operations.list_data_events(
            self._config,
            request_options,
            user_id=user_id,
            email=email,
            intercom_user_id=intercom_user_id,
            summary=summary,
            per_page=per_page,
        )
        return self._executor.execute(call)

    def create_data_event_summaries(
        self,
        *,
        user_id: str,
        event_summaries: Sequence[EventSummary],
        request_options: RequestOptions | None = None,
    ) -> IntercomHttpResponse[None]:
        """``POST /events/summaries``: record counts of events that happened elsewhere."""
        call = operations.create_data_event_summaries(
            self._config, request_options, user_id=user_id, event_summaries=event_summaries
        )
        return self._executor.execute(call)


class AsyncRawDataEventsClient:
    """The operations of :class:`AsyncDataEventsClient`, returning :class:`IntercomHttpResponse`.

    Reached as ``client.with_raw_response``; use it for status, headers, request id, rate
    limit and retries taken.
    """

    def __init__(self, config: ClientConfig, executor: AiohttpExecutor, pins: Pins) -> None:
        self._config = config
        self._executor = executor
        self._pins = pins

    async def create_data_event(
        self,
        *,
        event_name: str,
        user_id: str | None = None,
        id: str | None = None,
        email: str | None = None,
        created_at: Timestamp | None = None,
        metadata: Metadata | None = None,
        request_options: RequestOptions | None = None,
    ) -> IntercomHttpResponse[DataEvent]:
        """``POST /events``; ``.data`` is the event as sent, ``created_at`` pinned."""
        event = DataEvent(
            event_name,
            created_at=created_at,
            user_id=user_id,
            id=id,
            email=email,
            metadata=metadata,
        )
        return await self._executor.execute(
            operations.create_data_event(self._config, event, request_options, pins=self._pins)[1]
        )

    @overload
    async def list_data_events(
        self,
        *,
        user_id: str | None = None,
        email: str | None = None,
        intercom_user_id: str | None = None,
        summary: Literal[False] = False,
        per_page: int | None = None,
        request_options: RequestOptions | None = None,
    ) -> IntercomHttpResponse[DataEventList]: ...

    @overload
    async def list_data_events(
        self,
        *,
        user_id: str | None = None,
        email: str | None = None,
        intercom_user_id: str | None = None,
        summary: Literal[True],
        per_page: int | None = None,
        request_options: RequestOptions | None = None,
    ) -> IntercomHttpResponse[DataEventSummary]: ...

    @overload
    async def list_data_events(
        self,
        *,
        user_id: str | None = None,
        email: str | None = None,
        intercom_user_id: str | None = None,
        summary: bool = False,
        per_page: int | None = None,
        request_options: RequestOptions | None = None,
    ) -> IntercomHttpResponse[DataEventList | DataEventSummary]: ...

    async def list_data_events(
        self,
        *,
        user_id: str | None = None,
        email: str | None = None,
        intercom_user_id: str | None = None,
        summary: bool = False,
        per_page: int | None = None,
        request_options: RequestOptions | None = None,
    ) -> IntercomHttpResponse[DataEventList | DataEventSummary]:
        """``GET /events``: one page of a user's events, or with ``summary=True`` their counts."""
        call = operations.list_data_events(
            self._config,
            request_options,
            user_id=user_id,
            email=email,
            intercom_user_id=intercom_user_id,
            summary=summary,
            per_page=per_page,
        )
        return await self._executor.execute(call)

    async def create_data_event_summaries(
        self,
        *,
        user_id: str,
        event_summaries: Sequence[EventSummary],
        request_options: RequestOptions | None = None,
    ) -> IntercomHttpResponse[None]:
        """``POST /events/summaries``: record counts of events that happened elsewhere."""
        call = operations.create_data_event_summaries(
            self._config, request_options, user_id=user_id, event_summaries=event_summaries
        )
        return await self._executor.execute(call)
