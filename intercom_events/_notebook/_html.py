"""HTML tables for Jupyter (``_repr_html_``): escaped, no JavaScript, readable at a glance.

- Metadata shows as ``key: value`` lines; money with its currency (``€349.99``, ``¥500``,
  ``349.99 XYZ`` where no symbol is known), using the currency's ISO 4217 minor unit; links
  (plain http(s) strings and rich links) as ``<a>`` opening a new tab with
  ``rel="noopener noreferrer"``; other schemes are never made clickable.
- Times are UTC, short (``2026-12-03 07:28``) and unwrapped, in ``<time>`` elements that carry
  the exact moment (``datetime`` and a ``title`` with seconds).
- A caption says how many rows there are, how many are shown (the first 50), and, for a page
  of events, whether more pages follow.
- Identifier and metadata columns that no shown row fills are left out.

Every text and attribute value goes through :func:`html.escape`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING, Any

from .._core.validation import identifier
from ..models import _MINOR_UNITS
from ._values import contact_id, http_url, is_date_key, link, money, utc

if TYPE_CHECKING:
    from ..models import BulkResult, DataEvent, DataEventList, DataEventSummary

__all__ = ["MAX_ROWS", "bulk_html", "event_html", "event_list_html", "money_text", "summary_html"]

MAX_ROWS = 50
"""Rows a table shows; the caption says how many more there are."""

_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹", "KRW": "₩"}
"""Currencies shown by symbol; the others by code after the number (``12.50 CAD``)."""
_NOWRAP = "white-space: nowrap"
_CELL = ' style="text-align: left; vertical-align: top"'
_NUMBER = ' style="text-align: right; vertical-align: top"'
_LINK_TEXT = 60
"""Characters of a plain URL shown as its link text (the full URL is the href and title)."""

Cell = tuple[str, str]
"""A cell's inner HTML and its ``style`` attribute."""


def money_text(amount: int, currency: str) -> str:
    """``€349.99`` for 34999 EUR, ``¥500`` for 500 JPY, ``1.500 KWD``, ``349.99 XYZ``."""
    code = currency.upper()
    digits = _MINOR_UNITS.get(code, 2)
    number = f"{abs(Decimal(amount).scaleb(-digits)):,.{digits}f}"
    sign = "-" if amount < 0 else ""
    symbol = _SYMBOLS.get(code)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {code}"


def _time(value: object) -> str:
    moment = utc(value)
    if moment is None:
        return "" if value is None else escape(str(value))
    exact = moment.isoformat()
    return (
        f'<time datetime="{escape(exact)}" title="{escape(exact)}" style="{_NOWRAP}">'
        f"{moment:%Y-%m-%d %H:%M}</time>"
    )


def _anchor(url: str, text: str) -> str:
    return (
        f'<a href="{escape(url)}" title="{escape(url)}" rel="noopener noreferrer" '
        f'target="_blank">{escape(text)}</a>'
    )


def _value(key: str, value: object) -> str:
    """One metadata value as HTML, read as its kind."""
    if (is_date_key(key) or isinstance(value, datetime)) and utc(value) is not None:
        return _time(value)
    if found := money(value):
        return f'<span style="{_NOWRAP}">{escape(money_text(*found))}</span>'
    if found_link := link(value):
        url, text = found_link
        return _anchor(url, text) if http_url(url) else escape(f"{text} ({url})")
    if isinstance(value, str) and http_url(value):
        short = value if len(value) <= _LINK_TEXT else value[: _LINK_TEXT - 1] + "…"
        return _anchor(value, short)
    return escape(str(value))


def _metadata(metadata: Mapping[str, Any] | None) -> str:
    """``key: value`` lines, one ``<div>`` each."""
    return "".join(
        f'<div><span style="opacity: 0.7">{escape(str(k))}</span>: {_value(str(k), v)}</div>'
        for k, v in (metadata or {}).items()
    )


def _text(value: object) -> Cell:
    return ("" if value is None else escape(str(value)), _CELL)


def _number(value: object) -> Cell:
    return ("" if value is None else escape(str(value)), _NUMBER)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _counted(rows: Sequence[object], noun: str) -> str:
    """``57 events, the first 50 shown (… and 7 more)``: how many rows, how many shown."""
    text = _plural(len(rows), noun)
    if len(rows) > MAX_ROWS:
        text += f", the first {MAX_ROWS} shown (… and {len(rows) - MAX_ROWS} more)"
    return text


Columns = Sequence[tuple[str, Callable[[Any], Cell], bool]]
"""A table's columns: ``(header, cell(row), optional)``."""


def _table(caption: str, columns: Columns, rows: Sequence[Any]) -> str:
    """A captioned table of the first :data:`MAX_ROWS` of ``rows``.

    An optional column that no shown row fills is left out.
    """
    shown = rows[:MAX_ROWS]
    kept = []
    for header, cell, optional in columns:
        cells = [cell(row) for row in shown]
        if not optional or any(html for html, _ in cells):
            kept.append((header, cells))
    head = "".join(f"<th{_CELL}>{escape(header)}</th>" for header, _ in kept)
    body = "".join(
        "<tr>" + "".join(f"<td{cells[i][1]}>{cells[i][0]}</td>" for _, cells in kept) + "</tr>"
        for i in range(len(shown))
    )
    return (
        f'<table><caption style="text-align: left">{escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


_EVENT_COLUMNS: Columns = (
    ("event_name", lambda e: _text(e.event_name), False),
    ("created_at (UTC)", lambda e: (_time(e.created_at), _CELL), False),
    ("user_id", lambda e: _text(e.user_id), True),
    ("email", lambda e: _text(e.email), True),
    ("intercom_user_id", lambda e: _text(contact_id(e)), True),
    ("metadata", lambda e: (_metadata(e.metadata), _CELL), True),
)


def event_list_html(page: DataEventList) -> str:
    """A page of events as a table; the caption says whether more pages follow."""
    more = page.pages is not None and page.pages.next is not None
    tail = "; more pages follow (iter_data_events() reads them all)" if more else "; last page"
    return _table(_counted(page.events, "event") + tail, _EVENT_COLUMNS, page.events)


def event_html(event: DataEvent) -> str:
    """One event as a one-row table (what ``create_data_event`` returns, shown in a cell)."""
    return _table("1 event", _EVENT_COLUMNS, [event])


def summary_html(summary: DataEventSummary) -> str:
    """A user's event summary as a table, one row per event name."""
    who = summary.user_id or summary.email or summary.intercom_user_id or "the user"
    columns: Columns = (
        ("name", lambda i: _text(i.name), False),
        ("count", lambda i: _number(i.count), False),
        ("first (UTC)", lambda i: (_time(i.first), _CELL), False),
        ("last (UTC)", lambda i: (_time(i.last), _CELL), False),
        ("description", lambda i: _text(i.description), True),
    )
    caption = f"events of {who}: {_counted(summary.events, 'event name')}"
    return _table(caption, columns, summary.events)


def _who(event: DataEvent) -> str:
    """``user_id=42``: the identifier an event is sent for."""
    found = identifier(event)
    return f"{found[0]}={found[1]}" if found else ""


def bulk_html(result: BulkResult) -> str:
    """Totals of a bulk send, then the failed events with their errors."""
    totals: Columns = (
        ("total", lambda r: _number(r.total), False),
        ("accepted", lambda r: _number(r.accepted), False),
        ("failed", lambda r: _number(len(r.failed)), False),
    )
    html = _table(f"bulk send of {_plural(result.total, 'event')}", totals, [result])
    if not result.failed:
        return html
    failed: Columns = (
        ("event_name", lambda f: _text(f.event.event_name), False),
        ("who", lambda f: _text(_who(f.event)), False),
        ("created_at (UTC)", lambda f: (_time(f.event.created_at), _CELL), False),
        ("error", lambda f: _text(type(f.error).__name__), False),
        ("message", lambda f: _text(f.error), False),
    )
    return html + _table(_counted(result.failed, "failed event"), failed, result.failed)
