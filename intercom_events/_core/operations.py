"""Request builders: each operation's arguments in, a validated :class:`Call` out.

Both clients call these, so URLs, query encoding, headers and input checks exist once.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from urllib.parse import quote, urlencode, urlsplit

import attrs

from ..errors import IntercomError
from ..models import DataEvent, DataEventList, DataEventSummary, EventSummary
from .calls import Call
from .checks import bounded_int, kind
from .config import UNSET, ClientConfig, RequestOptions, no_authorization
from .headers import Headers
from .retry import RetryClass
from .spec import RequestSpec
from .timestamps import Pins
from .validation import (
    LIST_IDENTIFIERS,
    json_body,
    one_identifier,
    prepare_event,
    summaries_body,
)

__all__ = [
    "create_data_event",
    "create_data_event_summaries",
    "list_data_events",
    "next_page",
    "PageTrail",
]

_NO_OPTIONS = RequestOptions()


def _spec(
    config: ClientConfig,
    options: RequestOptions | None,
    method: str,
    url: str,
    *,
    query: Mapping[str, str] | None = None,
    body: Mapping[str, object] | None = None,
    retry_class: RetryClass = RetryClass.IDEMPOTENT,
) -> RequestSpec:
    options = options or _NO_OPTIONS
    params = {**(query or {}), **options.additional_query_parameters}
    if params:
        url = f"{url}{'&' if urlsplit(url).query else '?'}{urlencode(params, quote_via=quote)}"
    payload = None if body is None else json_body(body)
    headers = config.json_headers if payload is not None else config.plain_headers
    if options.additional_headers:
        no_authorization(options.additional_headers)
        headers = Headers({**headers, **options.additional_headers})
    return RequestSpec(
        method=method,
        url=url,
        headers=headers,
        body=payload,
        timeout=config.timeout if options.timeout is UNSET else options.timeout,
        max_retries=config.max_retries if options.max_retries is UNSET else options.max_retries,
        retry_policy=options.retry_policy or config.retry_policy,
        retry_class=retry_class,
    )


def create_data_event(
    config: ClientConfig,
    event: DataEvent,
    options: RequestOptions | None = None,
    *,
    pins: Pins | None = None,
    now: float | None = None,
) -> tuple[DataEvent, Call[DataEvent]]:
    """``POST /events``: the event as it will be sent (``created_at`` pinned once, here, with
    the client's ``pins``) and the call, which decodes to that event."""
    pinned, body = prepare_event(
        event,
        now=time.time() if now is None else now,
        max_keys=config.metadata_max_keys,
        pins=pins,
    )
    spec = _spec(config, options, "POST", f"{config.base_url}/events", body=body)

    def accepted(status: int, body: bytes) -> DataEvent:
        if body:
            expect_no_content(status, body)
        return pinned

    return pinned, Call(spec, accepted)


def list_data_events(
    config: ClientConfig,
    options: RequestOptions | None = None,
    *,
    user_id: str | None,
    email: str | None,
    intercom_user_id: str | None,
    summary: bool,
    per_page: int | None,
) -> Call[DataEventList | DataEventSummary]:
    """``GET /events?type=user&<identifier>``: a page of events, or their summary."""
    given = {"user_id": user_id, "email": email, "intercom_user_id": intercom_user_id}
    name, value = one_identifier(given, LIST_IDENTIFIERS)
    query = {"type": "user", name: value}
    kind("summary", summary, bool)
    if per_page is not None:
        query["per_page"] = str(bounded_int("per_page", per_page, minimum=1))
    url = f"{config.base_url}/events"
    if summary:
        query["summary"] = "true"
        return Call(_spec(config, options, "GET", url, query=query), decode_summary)
    return Call(_spec(config, options, "GET", url, query=query), decode_event_list)


def next_page(
    config: ClientConfig, page: DataEventList, options: RequestOptions | None = None
) -> Call[DataEventList | DataEventSummary] | None:
    """The request for the page after ``page``, or None on the last page.

    ``pages.next`` is followed as given, and only to the client's own origin: the token must
    never travel to another host.
    """
    url = page.pages.next if page.pages else None
    if not url:
        return None
    if _origin(url) != _origin(config.base_url):
        raise IntercomError(
            f"refusing to follow pages.next to another origin ({_origin(url)[1]!r}); "
            "the token is only sent to the client's base_url"
        )
    without_query = attrs.evolve(options or _NO_OPTIONS, additional_query_parameters={})
    return Call(_spec(config, without_query, "GET", url), decode_event_list)


class PageTrail:
    """The pages one iteration has fetched, so that a ``pages.next`` loop is caught."""

    def __init__(self, first: Call[DataEventList | DataEventSummary]) -> None:
        self._fetched = {first.spec.url}

    def after(
        self, config: ClientConfig, page: DataEventList, options: RequestOptions | None = None
    ) -> Call[DataEventList | DataEventSummary] | None:
        """The request for the next page (see :func:`next_page`); raises on a page seen before."""
        call = next_page(config, page, options)
        if call is not None:
            if call.spec.url in self._fetched:
                raise IntercomError(
                    f"pages.next links back to a page already fetched ({call.spec.path}); "
                    "stopping instead of paging for ever"
                )
            self._fetched.add(call.spec.url)
        return call


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = -1
    return scheme, (parts.hostname or "").lower(), port


def create_data_event_summaries(
    config: ClientConfig,
    options: RequestOptions | None = None,
    *,
    user_id: str,
    event_summaries: Sequence[EventSummary],
) -> Call[None]:
    """``POST /events/summaries``; retried only where it surely did not apply."""
    body = summaries_body(user_id, event_summaries)
    spec = _spec(
        config,
        options,
        "POST",
        f"{config.base_url}/events/summaries",
        body=body,
        retry_class=RetryClass.UNLESS_APPLIED,
    )
    return Call(spec, _no_content)


# The converter (and cattrs) load when the first response body needs decoding.


def decode_event_list(status: int, body: bytes) -> DataEventList:
    """An ``event.list`` page."""
    from .converter import decode_event_list

    return decode_event_list(status, body)


def decode_summary(status: int, body: bytes) -> DataEventSummary:
    """An ``event.summary``."""
    from .converter import decode_summary

    return decode_summary(status, body)


def expect_no_content(status: int, body: bytes) -> None:
    """An accepted write: an empty body, or JSON."""
    from .converter import expect_no_content

    expect_no_content(status, body)


def _no_content(status: int, body: bytes) -> None:
    if body:
        expect_no_content(status, body)
