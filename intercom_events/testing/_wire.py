"""What the fake reads and writes on the wire: request bodies checked as Intercom checks them,
errors, recorded requests, summary items and paging cursors. Pure Python, no state.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn

import attrs

METADATA_MAX_KEYS = 10


class ApiError(Exception):
    """An answer Intercom gives as an ``error.list``; the server turns it into a response."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field


@attrs.frozen
class RecordedRequest:
    """One request as the fake saw it, byte for byte where it matters (query string, body)."""

    method: str
    path: str
    query_string: str  # raw, still percent-encoded, as on the wire
    query: dict[str, list[str]]  # decoded (``+`` is a space, as a form decoder reads it)
    headers: dict[str, str]  # header names as sent
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON (raises ``ValueError`` when it is not JSON)."""
        return json.loads(self.body)


def parse_json(body: bytes) -> Any:
    """Decode a request body, refusing what Intercom refuses (also ``NaN``/``Infinity``)."""

    def no_constants(name: str) -> NoReturn:
        raise ValueError(name)

    try:
        return json.loads(body, parse_constant=no_constants)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "parameter_invalid", "Invalid JSON") from None


def normalise_name(name: str) -> str:
    """Intercom's view of an event name: case-insensitive, ``.`` and ``$`` read as ``-``."""
    return name.lower().replace(".", "-").replace("$", "-")


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_name(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def is_user_id(value: object) -> bool:
    return isinstance(value, str) or is_int(value)  # Intercom takes a numeric user_id too


def checked_field(body: dict[str, Any], name: str, valid: Callable[[Any], object]) -> Any:
    """``body[name]``, or the 400 Intercom answers when it is missing (or null) or malformed."""
    value = body.get(name)
    if value is None:
        raise ApiError(400, "parameter_not_found", f"{name} is required", name)
    if not valid(value):
        raise ApiError(400, "parameter_invalid", f"{name} is invalid", name)
    return value


def valid_metadata(value: object) -> bool:
    if isinstance(value, str) or is_int(value) or isinstance(value, float):
        return True
    if isinstance(value, dict):
        if value.keys() == {"url", "value"}:
            return isinstance(value["url"], str) and isinstance(value["value"], str)
        if value.keys() == {"amount", "currency"}:
            amount = value["amount"]
            return is_int(amount) and amount > 0 and isinstance(value["currency"], str)
    return False


def summary_item(name: str, count: int, first: int, last: int) -> dict[str, Any]:
    iso = "%Y-%m-%dT%H:%M:%S.000+00:00"
    first_iso, last_iso = (datetime.fromtimestamp(t, UTC).strftime(iso) for t in (first, last))
    return {
        "type": "event.summary",
        "name": name,
        "first": first_iso,
        "last": last_iso,
        "count": count,
        "description": None,
    }


def encode_cursor(created_at: int, seq: int) -> str:
    """An opaque ``before`` cursor naming the last event of a page."""
    raw = f"{created_at}:{seq}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[int, int]:
    """The ``(created_at, seq)`` a cursor names; 400 when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, seq = raw.split(":")
        return int(created_at), int(seq)
    except (ValueError, binascii.Error):
        raise ApiError(400, "parameter_invalid", "Invalid before cursor", "before") from None
