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

__all__ = ["attr", "aware", "bounded_int", "kind", "number", "unix_seconds"]


def kind(field: str, value: object, *kinds: type, optional: bool = False) -> None:
    """``value`` is one of ``kinds`` (a bool never counts as an int), or None if optional."""
    if value is None and optional:
        return
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join(k.__name__ for k in kinds) + (" or None" if optional else "")
        raise InvalidEventError(field, f"must be {names}, got {type(value).__name__}")


def bounded_int(
    field: str, value: object, *, minimum: int, maximum: int | None = None, unit: str = ""
) -> int:
    """An int (not a bool) from ``minimum`` to ``maximum``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        bound = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
        raise InvalidEventError(field, f"must be an int {bound}{unit}, got {value!r}")
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
    """Unix seconds from an int or an aware datetime."""
    if isinstance(value, datetime):
        value = math.floor(aware(field, value).timestamp())
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidEventError(
            field, f"must be int Unix seconds or an aware datetime, got {type(value).__name__}"
        )
    if value < 0:
        raise InvalidEventError(field, f"must be Unix seconds >= 0, got {value}")
    return value


def attr(check: Callable[..., object], *args: Any, **kwargs: Any) -> Callable[..., None]:
    """An attrs validator that applies ``check(field_name, value, *args, **kwargs)``."""

    def validate(_: object, attribute: Any, value: object) -> None:
        check(attribute.name, value, *args, **kwargs)

    return validate
