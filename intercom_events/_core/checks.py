"""The basic value rules every input path shares: types, bounded ints, numbers, times.

Each rule is written once here and raises :class:`~intercom_events.InvalidEventError`
naming the field. A leaf: it imports only ``errors``, so ``models`` can use it too
(through :func:`attr`, which makes any rule an attrs validator).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..errors import InvalidEventError

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "LATEST",
    "attr",
    "aware",
    "bounded_int",
    "kind",
    "number",
    "shown",
    "unix_seconds",
]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
"""The integers Intercom can store (and every JSON parser can read back exactly)."""
LATEST = 4_133_980_799
"""2100-12-31T23:59:59Z: the last second accepted as a time."""


def shown(value: object) -> str:
    """``repr(value)`` for a message; an int too long to print is described instead."""
    if isinstance(value, int) and value.bit_length() > 256:
        return f"an int of {value.bit_length()} bits"
    return repr(value)


def kind(field: str, value: object, *kinds: type, optional: bool = False) -> None:
    """``value`` is one of ``kinds`` (a bool never counts as an int), or None if optional."""
    if value is None and optional:
        return
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join(k.__name__ for k in kinds) + (" or None" if optional else "")
        raise InvalidEventError(field, f"must be {names}, got {type(value).__name__}")


def bounded_int(
    field: str, value: object, *, minimum: int, maximum: int = INT64_MAX, unit: str = ""
) -> int:
    """An int (not a bool) from ``minimum`` to ``maximum`` (by default, the int64 range)."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        bound = f">= {minimum}" if maximum == INT64_MAX else f"from {minimum} to {maximum}"
        raise InvalidEventError(field, f"must be an int {bound}{unit}, got {shown(value)}")
    return value


def number(field: str, value: object, *, positive: bool = False) -> float:
    """A finite int or float (not a bool), ``> 0`` if ``positive`` else ``>= 0``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or (positive and value == 0)
    ):
        bound = "> 0" if positive else ">= 0"
        raise InvalidEventError(field, f"must be a number of seconds {bound}, got {value!r}")
    return value


def aware(field: str, value: datetime) -> datetime:
    """A datetime that knows its offset: a naive one could mean any time zone."""
    if value.utcoffset() is None:
        raise InvalidEventError(field, "must be an aware datetime (naive ones are ambiguous)")
    return value


def unix_seconds(field: str, value: object) -> int:
    """Unix seconds from an int or an aware datetime, from 1970 to the end of 2100."""
    if isinstance(value, datetime):
        value = math.floor(aware(field, value).timestamp())
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidEventError(
            field, f"must be int Unix seconds or an aware datetime, got {type(value).__name__}"
        )
    if not 0 <= value <= LATEST:
        hint = "; it looks like milliseconds: divide by 1000" if 0 < value // 1000 <= LATEST else ""
        raise InvalidEventError(
            field, f"must be Unix seconds from 1970 to the end of 2100, got {shown(value)}{hint}"
        )
    return value


def attr(check: Callable[..., object], *args: Any, **kwargs: Any) -> Callable[..., None]:
    """An attrs validator that applies ``check(field_name, value, *args, **kwargs)``."""

    def validate(_: object, attribute: Any, value: object) -> None:
        check(attribute.name, value, *args, **kwargs)

    return validate
