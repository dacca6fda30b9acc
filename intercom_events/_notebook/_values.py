"""How the notebook views read metadata values: money, links, dates, and who an event is for.

Listed events come back from the API as wire values (``{"amount", "currency"}`` dicts, Unix
seconds), events built in Python hold typed ones (:class:`MonetaryAmount`, ``datetime``); the
DataFrame and the HTML views both read them through these functions, so they always agree on
what a value is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from ..models import DataEvent, MonetaryAmount, RichLink

__all__ = ["contact_id", "http_url", "is_date_key", "link", "money", "utc"]

_DIGITS = re.compile(r"[+-]?[0-9]{1,12}")
"""Unix seconds written as text (12 digits reach far past 2100; longer is no time we show)."""


def money(value: object) -> tuple[int, str] | None:
    """``(amount in minor units, currency)`` of a money value, or None for anything else.

    A :class:`MonetaryAmount`, or a wire dict with exactly ``amount`` (an int, not a bool) and
    ``currency`` (a string); other dicts are not money, whatever their keys.
    """
    if isinstance(value, MonetaryAmount):
        return value.amount, value.currency
    if isinstance(value, Mapping) and set(value) == {"amount", "currency"}:
        amount, currency = value["amount"], value["currency"]
        if isinstance(amount, int) and not isinstance(amount, bool) and isinstance(currency, str):
            return amount, currency
    return None


def link(value: object) -> tuple[str, str] | None:
    """``(url, text)`` of a rich link (:class:`RichLink` or ``{"url", "value"}``), else None."""
    if isinstance(value, RichLink):
        return value.url, value.value
    if isinstance(value, Mapping) and set(value) == {"url", "value"}:
        url, text = value["url"], value["value"]
        if isinstance(url, str) and isinstance(text, str):
            return url, text
    return None


def http_url(value: object) -> bool:
    """Whether ``value`` is an http(s) URL: the only links the HTML makes clickable."""
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


def is_date_key(key: str) -> bool:
    """Intercom reads a metadata key ending in ``_date`` as a date (Unix seconds)."""
    return key.endswith("_date")


def utc(value: object) -> datetime | None:
    """A time as an aware UTC ``datetime``: from Unix seconds (int, float or digits as text),
    an ISO 8601 string, or a ``datetime`` (naive ones are taken as UTC). None if it is none
    of these, or out of range for a ``datetime``."""
    try:
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.utcoffset() is None else value.astimezone(UTC)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            text = value.strip()
            if _DIGITS.fullmatch(text):
                return datetime.fromtimestamp(int(text), UTC)
            return utc(datetime.fromisoformat(text))
    except (ValueError, OverflowError, OSError):
        return None
    return None


def contact_id(event: DataEvent) -> str | None:
    """Intercom's id of the event's contact: ``intercom_user_id``, else ``id``.

    A listed event carries it twice (``id`` and ``intercom_user_id`` are the same contact id);
    an event built to send may carry it as ``id``. The views show it once.
    """
    return event.intercom_user_id if event.intercom_user_id is not None else event.id
