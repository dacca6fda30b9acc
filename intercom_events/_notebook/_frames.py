"""pandas DataFrames of events and summaries, with real dtypes.

pandas is optional (the ``[notebook]`` extra): it is imported inside the functions that make a
frame, and a missing pandas raises an ``ImportError`` that names the extra.

Every column gets an explicit dtype, so a frame's types do not depend on which values a page
happened to hold (pandas would turn a column of ints with a gap into ``float64`` with NaN):

========================================  =======================  =========================
column                                     dtype                    from
========================================  =======================  =========================
``event_name``, ``user_id``, ``email``,    ``string`` (pd.NA)       the event
``intercom_user_id``
``created_at``                             ``datetime64[ns, UTC]``  Unix seconds or datetime
``metadata.K``, ints only                  ``Int64``                nullable integers
``metadata.K``, floats (ints mixed in)     ``Float64``
``metadata.K``, strings and plain links    ``string``
``metadata.K``, booleans                   ``boolean``
``metadata.K``, ``K`` ends in ``_date``    ``datetime64[ns, UTC]``  Unix seconds, ISO, datetime
``metadata.K.amount`` / ``.currency``      ``Int64`` / ``string``   money, in minor units
``metadata.K.url`` / ``.value``            ``string`` / ``string``  rich links
``metadata.K``, anything else or mixed     ``object``               the values as given
========================================  =======================  =========================

Missing values are ``pd.NA`` (``NaT`` in datetime columns, where pandas has no NA). A time
column with a value that is no time, or one past what ``datetime64[ns]`` holds (a listed
event's ``created_at`` is not range-checked), keeps its values as given (``object``; a
``*_date`` key then follows the other rows of the table).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from ._values import contact_id, is_date_key, link, money, utc

if TYPE_CHECKING:
    import pandas

    from ..models import DataEvent, DataEventList, DataEventSummary

__all__ = ["EVENT_COLUMNS", "SUMMARY_COLUMNS", "event_list_frame", "events_frame", "summary_frame"]

STRING = "string"
"""pandas' ``StringDtype``: missing values are ``pd.NA``, the same on pandas 2 and 3."""
INT, FLOAT, BOOL, OBJECT = "Int64", "Float64", "boolean", "object"
TIME = "datetime64[ns, UTC]"

EVENT_COLUMNS = {
    "event_name": STRING,
    "created_at": TIME,
    "user_id": STRING,
    "email": STRING,
    "intercom_user_id": STRING,
}
"""The columns every frame of events has, metadata columns following in first-seen order."""
SUMMARY_COLUMNS = {
    "name": STRING,
    "count": INT,
    "first": TIME,
    "last": TIME,
    "description": STRING,
}

Column: TypeAlias = tuple[list[Any], str]
"""A column's values (None where missing) and its dtype."""

_INT64 = range(-(2**63), 2**63)
_NANOSECONDS = (datetime(1678, 1, 1, tzinfo=UTC), datetime(2262, 1, 1, tzinfo=UTC))
"""Comfortably inside what a ``datetime64[ns]`` column can hold."""


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError(
            "to_pandas() needs pandas: pip install 'intercom-events[notebook]' (or pandas)"
        ) from None
    return pandas


def events_frame(events: Iterable[DataEvent]) -> pandas.DataFrame:
    """One row per event, in the given order, with the dtypes in this module's table.

    The contact's Intercom id is one column, ``intercom_user_id``: a listed event carries it
    twice (``id`` and ``intercom_user_id`` hold the same contact id), and ``id`` would read as
    the event's own id, which Intercom events do not have; ``intercom_user_id`` is also the
    name ``list_data_events`` takes it by. An event built to send with ``id=`` shows it there.
    No input gives an empty frame with the event columns and their dtypes.
    """
    pandas = _pandas()
    rows = list(events)
    columns: dict[str, Column] = {
        "event_name": ([e.event_name for e in rows], STRING),
        "created_at": _times([e.created_at for e in rows])
        or ([e.created_at for e in rows], OBJECT),
        "user_id": ([e.user_id for e in rows], STRING),
        "email": ([e.email for e in rows], STRING),
        "intercom_user_id": ([contact_id(e) for e in rows], STRING),
    }
    keys = dict.fromkeys(key for e in rows for key in e.metadata or {})
    for key in keys:
        values = [(e.metadata or {}).get(key) for e in rows]
        for name, column in _metadata_columns(key, values).items():
            columns[_unique(name, columns)] = column
    return _frame(pandas, columns)


def event_list_frame(page: DataEventList) -> pandas.DataFrame:
    """A page of events as a frame: :func:`events_frame` of its events."""
    return events_frame(page.events)


def summary_frame(summary: DataEventSummary) -> pandas.DataFrame:
    """One row per event name: ``count`` as ``Int64``, ``first`` and ``last`` as UTC times."""
    pandas = _pandas()
    items = summary.events
    columns: dict[str, Column] = {
        "name": ([i.name for i in items], STRING),
        "count": ([i.count for i in items], INT),
        "first": _times([i.first for i in items]) or ([i.first for i in items], OBJECT),
        "last": _times([i.last for i in items]) or ([i.last for i in items], OBJECT),
        "description": ([i.description for i in items], STRING),
    }
    return _frame(pandas, columns)


def _metadata_columns(key: str, values: list[Any]) -> dict[str, Column]:
    """The column(s) of one metadata key, typed by the values it holds across all rows."""
    name = f"metadata.{key}"
    present = [value for value in values if value is not None]
    dated = is_date_key(key) or (present and all(isinstance(v, datetime) for v in present))
    if dated and (times := _times(values)):
        return {name: times}
    kinds = {_kind(value) for value in present}
    if kinds == {"money"}:
        pairs = [money(value) for value in values]
        amounts = [pair[0] if pair else None for pair in pairs]
        if all(amount in _INT64 for amount in amounts if amount is not None):
            return {
                f"{name}.amount": (amounts, INT),
                f"{name}.currency": ([pair[1] if pair else None for pair in pairs], STRING),
            }
    elif kinds == {"link"}:
        links = [link(value) for value in values]
        return {
            f"{name}.url": ([pair[0] if pair else None for pair in links], STRING),
            f"{name}.value": ([pair[1] if pair else None for pair in links], STRING),
        }
    elif kinds == {"bool"}:
        return {name: (values, BOOL)}
    elif kinds == {"int"}:
        if all(value in _INT64 for value in present):
            return {name: (values, INT)}
    elif kinds and kinds <= {"int", "float"}:
        return {name: (values, FLOAT)}
    elif kinds == {"str"}:
        return {name: (values, STRING)}
    return {name: (values, OBJECT)}


def _times(values: list[Any]) -> Column | None:
    """A UTC datetime column of ``values``, or None if one of them is not a time that a
    ``datetime64[ns]`` column can hold (years 1678 to 2261): the caller keeps them as given."""
    times = [utc(value) for value in values]
    for time, value in zip(times, values, strict=True):
        if value is not None and (time is None or not _NANOSECONDS[0] < time < _NANOSECONDS[1]):
            return None
    return times, TIME


def _kind(value: object) -> str:
    if money(value):
        return "money"
    if link(value):
        return "link"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return "other"


def _unique(name: str, taken: dict[str, Column]) -> str:
    """``name``, or ``name#2``… when another key's column already has it (a key named
    ``price.amount`` beside money under ``price``): a frame never loses a column."""
    found, n = name, 1
    while found in taken:
        n += 1
        found = f"{name}#{n}"
    return found


def _frame(pandas: Any, columns: dict[str, Column]) -> pandas.DataFrame:
    arrays = {}
    for name, (values, dtype) in columns.items():
        if dtype == OBJECT:
            values = [pandas.NA if value is None else value for value in values]
        arrays[name] = pandas.array(values, dtype=dtype)
    return pandas.DataFrame(arrays)
