"""Reading events from ``.jsonl`` and ``.csv`` files, and writing the failed ones back.

Rows stream one at a time. A row that cannot become a :class:`DataEvent` at all (bad JSON,
wrong types) is a :class:`BadRow`, reported as failed like an event the API refused; the
SDK's own checks apply to every event read. The failed file has the importer's own format
(with an ``error`` field it ignores), so re-running on it retries just those rows.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import attrs

from .errors import InvalidEventError
from .models import DataEvent, MonetaryAmount, RichLink

__all__ = ["BadRow", "describe", "failed_line", "read_events", "scalar"]

FIELDS = ("event_name", "created_at", "user_id", "email", "id", "metadata")
IGNORED = ("error",)


@attrs.frozen
class BadRow:
    """A row that could not be read as an event: where it is, what it held, and why."""

    line: int
    row: object
    error: InvalidEventError


def read_events(path: Path) -> Iterator[DataEvent | BadRow]:
    """The events of a ``.jsonl`` or ``.csv`` file, lazily; bad rows as :class:`BadRow`."""
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".csv"):
        raise ValueError(f"{path}: expected a .jsonl or .csv file")
    with path.open(newline="", encoding="utf-8") as file:
        rows = _jsonl_rows(file) if suffix == ".jsonl" else _csv_rows(file)
        for line, row in rows:
            try:
                yield _event(row)
            except InvalidEventError as error:
                yield BadRow(
                    line, row, InvalidEventError(f"line {line}: {error.field}", error.rule)
                )


def _jsonl_rows(file: TextIO) -> Iterator[tuple[int, Any]]:
    for line, text in enumerate(file, 1):
        if not text.strip():
            continue
        try:
            yield line, json.loads(text)
        except ValueError as error:
            yield line, _Unreadable(f"not JSON ({error})", text.strip())


def _csv_rows(file: TextIO) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(file)
    for record in reader:
        row: dict[str, Any] = {}
        metadata: dict[str, Any] = {}
        for column, value in record.items():
            if column is None or value is None or value == "":
                continue
            if column.startswith("metadata."):
                metadata[column.removeprefix("metadata.")] = scalar(value)
            elif column == "metadata":
                try:
                    metadata.update(json.loads(value))
                except (ValueError, TypeError):
                    row["metadata"] = value  # refused below, naming the line
            else:
                row[column] = value
        if metadata and "metadata" not in row:
            row["metadata"] = metadata
        yield reader.line_num, row


@attrs.frozen
class _Unreadable:
    why: str
    text: str


def scalar(text: str) -> str | int | float:
    """A cell as a number when it reads as an int or a float (``"42"``, ``"3.5"``), else text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _event(row: Any) -> DataEvent:
    if isinstance(row, _Unreadable):
        raise InvalidEventError("row", row.why)
    if not isinstance(row, dict):
        raise InvalidEventError("row", f"must be a JSON object, got {type(row).__name__}")
    unknown = sorted(set(row) - set(FIELDS) - set(IGNORED))
    if unknown:
        raise InvalidEventError("row", f"unknown fields {unknown}; expected some of {FIELDS}")
    created_at = row.get("created_at")
    if isinstance(created_at, str):
        created_at = _time(created_at)
    metadata = row.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidEventError("metadata", "must be a JSON object")
    return DataEvent(
        row.get("event_name"),  # type: ignore[arg-type]  # checked by DataEvent
        created_at=created_at,
        user_id=_text(row.get("user_id")),
        email=_text(row.get("email")),
        id=_text(row.get("id")),
        metadata=metadata,
    )


def _text(value: Any) -> Any:
    """Identifiers given as JSON numbers are read as text; other types fail in DataEvent."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _time(text: str) -> int | datetime:
    if text.strip().isdigit():
        return int(text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidEventError(
            "created_at", f"must be Unix seconds or an ISO 8601 time, got {text!r}"
        ) from None


def failed_line(item: DataEvent | BadRow, error: Exception) -> str:
    """A failed event as a line of the importer's own format, with ``error`` added."""
    if isinstance(item, BadRow):
        row = item.row.text if isinstance(item.row, _Unreadable) else item.row
        record: dict[str, Any] = dict(row) if isinstance(row, dict) else {"row": row}
    else:
        record = {name: getattr(item, name) for name in FIELDS if getattr(item, name) is not None}
        if item.metadata is not None:
            record["metadata"] = {k: _plain(v) for k, v in item.metadata.items()}
    record["error"] = describe(error)
    return json.dumps(record, default=str, ensure_ascii=False)


def _plain(value: object) -> object:
    if isinstance(value, RichLink | MonetaryAmount):
        return attrs.asdict(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def describe(error: Exception) -> str:
    """One line for an error: its class and message (with status and request id for API ones)."""
    return f"{type(error).__name__}: {error}"
