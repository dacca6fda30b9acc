"""The API's input rules, checked before anything is sent, and the wire form they produce.

Every violation raises :class:`~intercom_events.errors.InvalidEventError` naming the field
and the rule. Both clients and every path (single create, bulk send) go through here.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import warnings
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from ..errors import IntercomEventWarning, InvalidEventError
from ..models import DataEvent, EventSummary, MonetaryAmount, RichLink
from .checks import INT64_MIN, bounded_int, unix_seconds
from .timestamps import Pins, dedup_key, fingerprint

__all__ = [
    "CREATE_IDENTIFIERS",
    "LIST_IDENTIFIERS",
    "encode_metadata",
    "flatten_metadata",
    "identifier",
    "json_body",
    "one_identifier",
    "parse_time",
    "prepare_event",
    "summaries_body",
]

CREATE_IDENTIFIERS = ("user_id", "id", "email")
LIST_IDENTIFIERS = ("user_id", "email", "intercom_user_id")
_INTEGER = re.compile(r"[+-]?[0-9]+")


def parse_time(field: str, text: str) -> int | datetime:
    """A time written as text: Unix seconds, or ISO 8601 with an offset.

    Its range is checked where the value is used, as for any other ``created_at``.
    """
    text = text.strip()
    if _INTEGER.fullmatch(text):
        if len(text.lstrip("+-")) > 19:  # past any int64; int() of a huge text is slow or fails
            raise InvalidEventError(field, f"is out of range: {text[:24]}… ({len(text)} digits)")
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidEventError(
            field, f"must be Unix seconds or an ISO 8601 time, got {text!r}"
        ) from None
    if moment.utcoffset() is None:
        raise InvalidEventError(field, f"needs an offset, e.g. {text}+00:00")
    return moment


def identifier(event: DataEvent) -> tuple[str, str] | None:
    """Who an event is for, as ``(name, value)``: the first of ``user_id``, ``id``, ``email``."""
    return next(
        ((name, value) for name in CREATE_IDENTIFIERS if (value := getattr(event, name))), None
    )


def one_identifier(given: Mapping[str, object], allowed: Sequence[str]) -> tuple[str, str]:
    """The single identifier among ``given`` (name, value); exactly one must be set."""
    present = [name for name in allowed if given.get(name) is not None]
    names = ", ".join(allowed[:-1]) + f" or {allowed[-1]}"
    if len(present) != 1:
        found = f"got {', '.join(present)}" if present else "got none"
        raise InvalidEventError("/".join(allowed), f"exactly one of {names} is required, {found}")
    name = present[0]
    value = given[name]
    if not isinstance(value, str) or not value.strip():
        raise InvalidEventError(name, f"must be a non-empty string, got {value!r}")
    return name, value


def event_name(value: object) -> str:
    """A non-empty event name; warns when Intercom will store it under another name."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidEventError("event_name", f"must be a non-empty string, got {value!r}")
    if "." in value or "$" in value:
        stored = value.replace(".", "-").replace("$", "-")
        warnings.warn(
            f"Intercom stores event name {value!r} as {stored!r} ('.' and '$' become '-')",
            IntercomEventWarning,
            stacklevel=_callers_level(),
        )
    return value


def _metadata_value(key: str, value: object) -> object:
    field = f"metadata[{key!r}]"
    if isinstance(value, bool):
        raise InvalidEventError(field, "bool is not a metadata kind; send 'true' or 'false'")
    if key.endswith("_date"):
        if not isinstance(value, datetime | int):
            raise InvalidEventError(
                field, "a key ending in _date needs int Unix seconds or a datetime"
            )
        return unix_seconds(field, value)
    if isinstance(value, int):
        return bounded_int(field, value, minimum=INT64_MIN)
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidEventError(field, f"numbers must be finite, got {value!r}")
        return value
    if isinstance(value, datetime):
        return unix_seconds(field, value)
    if isinstance(value, Mapping):
        value = _typed_mapping(field, value)
    if isinstance(value, RichLink):
        return {"url": value.url, "value": value.value}
    if isinstance(value, MonetaryAmount):
        return {"amount": value.amount, "currency": value.currency}
    if value is None:
        raise InvalidEventError(field, "None is not a metadata kind; leave the key out")
    if isinstance(value, list | tuple | set | frozenset):
        raise InvalidEventError(
            field,
            "lists are refused by Intercom; flatten them into separate keys, "
            "e.g. with intercom_events.flatten_metadata()",
        )
    kinds = "str, int, float, datetime, RichLink or MonetaryAmount"
    raise InvalidEventError(field, f"must be {kinds}, got {type(value).__name__}")


def _callers_level() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside this package."""
    package = os.path.dirname(os.path.dirname(__file__)) + os.sep
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def flatten_metadata(mapping: Mapping[str, Any], sep: str = "_") -> dict[str, Any]:
    """Nested dicts and lists flattened into the flat keys Intercom accepts.

    ``{"plan": {"name": "pro", "seats": 3}, "tags": ["a", "b"]}`` becomes
    ``{"plan_name": "pro", "plan_seats": 3, "tags_0": "a", "tags_1": "b"}``. Rich links and
    money (typed or as ``{url, value}`` / ``{amount, currency}`` dicts) stay whole.
    """
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping) and set(value) not in _TYPED_SHAPES:
            for key, item in value.items():
                walk(f"{prefix}{sep}{key}" if prefix else str(key), item)
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                walk(f"{prefix}{sep}{index}" if prefix else str(index), item)
        else:
            if prefix in flat:
                raise InvalidEventError("metadata", f"flattening makes the key {prefix!r} twice")
            flat[prefix] = value

    for key, value in mapping.items():
        walk(str(key), value)
    return flat


_TYPED_SHAPES = ({"url", "value"}, {"amount", "currency"})


def _typed_mapping(field: str, value: Mapping[Any, Any]) -> RichLink | MonetaryAmount:
    keys = set(value)
    try:
        if keys == {"url", "value"}:
            return RichLink(url=value["url"], value=value["value"])
        if keys == {"amount", "currency"}:
            return MonetaryAmount(amount=value["amount"], currency=value["currency"])
    except (TypeError, ValueError) as exc:
        raise InvalidEventError(field, str(exc)) from exc
    raise InvalidEventError(
        field,
        "nested objects are refused by Intercom (only {url, value} and {amount, currency}); "
        "flatten them into separate keys, e.g. with intercom_events.flatten_metadata()",
    )


def encode_metadata(metadata: Mapping[Any, Any], max_keys: int | None) -> dict[str, object]:
    """The wire form of metadata, refusing what Intercom would reject or silently drop."""
    if not isinstance(metadata, Mapping):
        raise InvalidEventError("metadata", f"must be a mapping, got {type(metadata).__name__}")
    encoded: dict[str, object] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not key:
            raise InvalidEventError("metadata", f"keys must be non-empty strings, got {key!r}")
        encoded[key] = _metadata_value(key, value)
    if max_keys is not None and len(encoded) > max_keys:
        dropped = list(encoded)[max_keys:]
        raise InvalidEventError(
            "metadata",
            f"has {len(encoded)} keys; Intercom keeps the first {max_keys} and silently drops "
            f"{dropped!r} (metadata_max_keys=None turns this check off)",
        )
    return encoded


def prepare_event(
    event: DataEvent, *, now: float, max_keys: int | None, pins: Pins | None = None
) -> tuple[DataEvent, dict[str, object]]:
    """The event with ``created_at`` pinned, and its wire body.

    ``created_at=None`` becomes ``now``, or with ``pins`` the next second this client has not
    used for the contact and name (see ``_core.timestamps``). Pinning happens once per
    logical call, before the first attempt, so a retry is the same event to Intercom.
    """
    name = event_name(event.event_name)
    if event.intercom_user_id is not None:
        raise InvalidEventError(
            "intercom_user_id", "is not accepted when creating events; use id, user_id or email"
        )
    given = {"user_id": event.user_id, "id": event.id, "email": event.email}
    ident, value = one_identifier(given, CREATE_IDENTIFIERS)
    requested = None if event.created_at is None else unix_seconds("created_at", event.created_at)
    metadata = None if event.metadata is None else encode_metadata(event.metadata, max_keys)
    if pins is None:
        pinned = math.floor(now) if requested is None else requested
    else:
        pinned, warning = pins.pin(
            dedup_key(ident, value, name), requested, fingerprint(metadata), now
        )
        if warning:
            warnings.warn(warning, IntercomEventWarning, stacklevel=_callers_level())
    body: dict[str, object] = {"event_name": name, "created_at": pinned, ident: value}
    if metadata is not None:
        body["metadata"] = metadata
    if event.created_at is not pinned:
        event = attrs.evolve(event, created_at=pinned)
    return event, body


def summaries_body(user_id: object, summaries: Sequence[EventSummary]) -> dict[str, object]:
    """The body of ``POST /events/summaries``.

    One summary is sent as an object (the form the API schema declares), several as a list
    (the form its description speaks of): which the real API accepts is unverified.
    """
    if not isinstance(user_id, str) or not user_id.strip():
        raise InvalidEventError("user_id", f"must be a non-empty string, got {user_id!r}")
    if isinstance(summaries, EventSummary) or not isinstance(summaries, Sequence) or not summaries:
        raise InvalidEventError("event_summaries", "must be a non-empty list of EventSummary")
    items = []
    for index, summary in enumerate(summaries):
        field = f"event_summaries[{index}]"
        if not isinstance(summary, EventSummary):
            raise InvalidEventError(field, f"must be an EventSummary, got {type(summary).__name__}")
        first = unix_seconds(f"{field}.first", summary.first)
        last = unix_seconds(f"{field}.last", summary.last)
        if first > last:
            raise InvalidEventError(field, f"first ({first}) must not be after last ({last})")
        items.append(
            {
                "event_name": event_name(summary.event_name),
                "count": summary.count,
                "first": first,
                "last": last,
            }
        )
    return {"user_id": user_id, "event_summaries": items[0] if len(items) == 1 else items}


def json_body(body: Mapping[str, object]) -> bytes:
    """UTF-8 JSON; text that cannot be UTF-8 (a lone surrogate) is refused, naming its field."""
    try:
        return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError:
        for name, value in body.items():
            try:
                json.dumps({name: value}, ensure_ascii=False).encode()
            except UnicodeEncodeError:
                raise InvalidEventError(name, "contains text that is not valid Unicode") from None
        raise  # pragma: no cover - some field above always fails
