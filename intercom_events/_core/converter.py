"""Decoding response bodies into models with one cattrs converter.

Unknown fields are ignored and missing ones become None, so new API fields never break a
client. A body that is not the promised JSON raises :class:`ResponseDecodeError`, never a
bare ``JSONDecodeError`` or a cattrs exception group.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import cattrs

from ..errors import ResponseDecodeError
from ..models import (
    DataEvent,
    DataEventList,
    DataEventSummary,
    DataEventSummaryItem,
    Metadata,
    Timestamp,
)

__all__ = ["converter", "decode"]

T = TypeVar("T")

converter = cattrs.Converter()


def _datetime(value: Any, _: type) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        moment = datetime.fromisoformat(value)
        return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)
    raise TypeError(f"expected an ISO 8601 string or Unix seconds, got {type(value).__name__}")


def _timestamp(value: Any, _: type) -> Timestamp | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return _datetime(value, datetime)


def _metadata(value: Any, _: type) -> Metadata | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise TypeError(f"metadata must be a JSON object, got {type(value).__name__}")
    return dict(value)


def _str(value: Any, _: type) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


converter.register_structure_hook(datetime, _datetime)
converter.register_structure_hook_func(lambda t: t in (Timestamp, Timestamp | None), _timestamp)
converter.register_structure_hook_func(lambda t: t in (Metadata, Metadata | None), _metadata)
converter.register_structure_hook(str, _str)


def _null_as_empty(kind: Any) -> None:
    """A null list in a response is an empty one ("missing fields are None" for lists)."""
    base = converter.get_structure_hook(kind)
    converter.register_structure_hook_func(
        lambda t: t == kind, lambda v, t: () if v is None else base(v, t)
    )


_null_as_empty(tuple[DataEvent, ...])
_null_as_empty(tuple[DataEventSummaryItem, ...])


def decode(model: type[T], status: int, body: bytes, expected_type: str | None = None) -> T:
    """A model from a JSON body; ``expected_type`` checks the body's ``type`` when present."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ResponseDecodeError("response is not JSON", status_code=status, body=body) from exc
    if not isinstance(data, dict):
        raise ResponseDecodeError(
            f"expected a JSON object, got {type(data).__name__}", status_code=status, body=body
        )
    found = data.get("type")
    if expected_type is not None and found is not None and found != expected_type:
        raise ResponseDecodeError(
            f"expected type {expected_type!r}, got {found!r}", status_code=status, body=body
        )
    try:
        return converter.structure(data, model)
    except Exception as exc:
        detail = (
            "; ".join(cattrs.transform_error(exc))
            if isinstance(exc, cattrs.BaseValidationError)
            else str(exc)
        )
        raise ResponseDecodeError(
            f"unexpected {model.__name__} shape: {detail}", status_code=status, body=body
        ) from exc


def expect_no_content(status: int, body: bytes) -> None:
    """An accepted write: the API sends an empty body (or JSON); HTML means a proxy answered."""
    if body.strip():
        try:
            json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ResponseDecodeError(
                "expected an empty body or JSON", status_code=status, body=body
            ) from exc


def decode_event_list(status: int, body: bytes) -> DataEventList:
    """An ``event.list`` page."""
    return decode(DataEventList, status, body, "event.list")


def decode_summary(status: int, body: bytes) -> DataEventSummary:
    """An ``event.summary``."""
    return decode(DataEventSummary, status, body, "event.summary")
