"""Notebook views of the models: HTML tables and pandas DataFrames.

Jupyter shows a model through its ``_repr_html_``; these functions build that HTML (escaped,
no JavaScript), and the DataFrames behind ``to_pandas()`` (pandas is an optional extra).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, Any

from ._core.validation import identifier

if TYPE_CHECKING:
    import pandas

    from .models import BulkResult, DataEvent, DataEventList, DataEventSummary

__all__ = ["bulk_html", "event_list_frame", "event_list_html", "summary_frame", "summary_html"]

MAX_ROWS = 50
EVENT_COLUMNS = ("event_name", "created_at", "user_id", "email", "id", "metadata")
SUMMARY_COLUMNS = ("name", "count", "first", "last", "description")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return escape(str(value))


def _table(caption: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    rows = list(rows)
    shown = rows[:MAX_ROWS]
    more = f"<p>… and {len(rows) - MAX_ROWS} more</p>" if len(rows) > MAX_ROWS else ""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(value)}</td>" for value in row) + "</tr>" for row in shown
    )
    return (
        f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>{more}"
    )


def _when(created_at: object) -> object:
    if isinstance(created_at, int):
        return datetime.fromtimestamp(created_at, UTC)
    return created_at


def event_list_html(page: DataEventList) -> str:
    """A page of events as a table, with whether more pages follow."""
    more = "more pages follow" if page.pages and page.pages.next else "last page"
    rows = (
        (e.event_name, _when(e.created_at), e.user_id, e.email, e.id, e.metadata)
        for e in page.events
    )
    return _table(f"{len(page.events)} events ({more})", EVENT_COLUMNS, rows)


def summary_html(summary: DataEventSummary) -> str:
    """A user's event summary as a table."""
    who = summary.user_id or summary.email or summary.intercom_user_id or "user"
    rows = ((i.name, i.count, i.first, i.last, i.description) for i in summary.events)
    return _table(f"events of {who}", SUMMARY_COLUMNS, rows)


def bulk_html(result: BulkResult) -> str:
    """Totals of a bulk send, and the failed events with their errors."""
    totals = _table(
        "bulk send",
        ("total", "accepted", "failed"),
        [(result.total, result.accepted, len(result.failed))],
    )
    if not result.failed:
        return totals
    rows = (
        (
            f.event.event_name,
            _who(f.event),
            _when(f.event.created_at),
            type(f.error).__name__,
            f.error,
        )
        for f in result.failed
    )
    return totals + _table("failed", ("event_name", "who", "created_at", "error", "message"), rows)


def _who(event: DataEvent) -> str:
    """``user_id=42``: the identifier an event is sent for."""
    found = identifier(event)
    return f"{found[0]}={found[1]}" if found else ""


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError(
            "to_pandas() needs pandas: pip install 'intercom-events[notebook]' (or pandas)"
        ) from None
    return pandas


def event_list_frame(page: DataEventList) -> pandas.DataFrame:
    """One row per event; ``created_at`` as UTC timestamps, metadata keys as columns."""
    pandas = _pandas()
    records = []
    for e in page.events:
        record: dict[str, Any] = {
            "event_name": e.event_name,
            "created_at": _when(e.created_at),
            "user_id": e.user_id,
            "email": e.email,
            "id": e.id,
            "intercom_user_id": e.intercom_user_id,
        }
        record.update({f"metadata.{k}": v for k, v in (e.metadata or {}).items()})
        records.append(record)
    return pandas.DataFrame.from_records(records, columns=_columns(records, EVENT_COLUMNS[:-1]))


def summary_frame(summary: DataEventSummary) -> pandas.DataFrame:
    """One row per event name, with count, first and last."""
    pandas = _pandas()
    records = [
        {
            "name": i.name,
            "count": i.count,
            "first": i.first,
            "last": i.last,
            "description": i.description,
        }
        for i in summary.events
    ]
    return pandas.DataFrame.from_records(records, columns=list(SUMMARY_COLUMNS))


def _columns(records: list[dict[str, Any]], base: Sequence[str]) -> list[str]:
    columns = [*base, "intercom_user_id"]
    for record in records:
        columns += [key for key in record if key not in columns]
    return columns
