"""The data the API sends and returns, as frozen attrs classes.

Validators here check types and the value rules that make an object meaningful on its own
(a positive amount, an http(s) link), with the shared rules of ``_core.checks``. Rules that
depend on how an object is used, such as "exactly one identifier" for an event being sent,
live in ``_core.validation``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeAlias

import attrs

from ._core.checks import attr, aware, bounded_int, kind
from .errors import InvalidEventError

__all__ = [
    "BulkResult",
    "GateStats",
    "DataEvent",
    "DataEventList",
    "DataEventSummary",
    "DataEventSummaryItem",
    "EventSummary",
    "FailedEvent",
    "Metadata",
    "MetadataValue",
    "MonetaryAmount",
    "Pages",
    "RichLink",
    "TrackingStats",
    "Timestamp",
]

Timestamp: TypeAlias = int | datetime
"""Unix seconds (UTC) or an aware ``datetime``."""


def _compact_repr(self: Any) -> str:
    """``Name(a=1, b='x')`` without the fields that are None: listed events carry many."""
    shown = (
        f"{a.name}={getattr(self, a.name)!r}"
        for a in attrs.fields(type(self))
        if a.repr and getattr(self, a.name) is not None
    )
    return f"{type(self).__name__}({', '.join(shown)})"


def _kind(*kinds: type, optional: bool = False) -> Any:
    """An attrs validator that refuses other types with :class:`InvalidEventError`."""
    return attr(kind, *kinds, optional=optional)


def _http_url(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value.lower().startswith(("http://", "https://")) or len(value) <= len("https://"):
        raise InvalidEventError(attribute.name, f"must be an http(s) URL, got {value!r}")


@attrs.frozen
class RichLink:
    """A metadata value shown as a link: ``{"url": ..., "value": ...}`` on the wire."""

    url: str = attrs.field(validator=[_kind(str), _http_url])
    value: str = attrs.field(validator=_kind(str))


def _currency_code(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if len(value) != 3 or not value.isascii() or not value.isalpha():
        raise InvalidEventError(
            attribute.name, f"must be a three-letter ISO 4217 code, got {value!r}"
        )


_ZERO_DECIMALS = (
    "BIF",
    "CLP",
    "DJF",
    "GNF",
    "ISK",
    "JPY",
    "KMF",
    "KRW",
    "PYG",
    "RWF",
    "UGX",
    "UYI",
    "VND",
    "VUV",
    "XAF",
    "XOF",
    "XPF",
)
_THREE_DECIMALS = (
    "BHD",
    "IQD",
    "JOD",
    "KWD",
    "LYD",
    "OMR",
    "TND",
)
_MINOR_UNITS = {**dict.fromkeys(_ZERO_DECIMALS, 0), **dict.fromkeys(_THREE_DECIMALS, 3)}
"""ISO 4217 currencies whose minor unit is not 1/100."""


def _lower(value: str) -> str:
    return value.lower() if isinstance(value, str) else value


@attrs.frozen
class MonetaryAmount:
    """An amount of money in minor units (cents): ``MonetaryAmount(34999, "eur")``.

    The currency is normalised to lower case, as Intercom stores it.
    """

    amount: int = attrs.field(
        validator=attr(bounded_int, minimum=1, unit=" of minor units (cents)")
    )
    currency: str = attrs.field(
        converter=_lower,
        validator=[_kind(str), _currency_code],
    )

    @classmethod
    def from_major(cls, amount: Decimal | str | int, currency: str) -> MonetaryAmount:
        """From major units, exactly: ``from_major("349.99", "eur")`` is 34999 cents.

        Uses the currency's ISO 4217 minor unit (JPY has none, KWD three); floats are refused,
        since ``349.99`` as a float is not 349.99, and so are amounts with more decimals than
        the currency has.
        """
        if isinstance(amount, float | bool) or not isinstance(amount, Decimal | str | int):
            raise InvalidEventError(
                "amount", f"must be a Decimal, str or int (not {type(amount).__name__})"
            )
        try:
            major = Decimal(amount)
        except ArithmeticError:
            raise InvalidEventError("amount", f"is not a number: {amount!r}") from None
        if not major.is_finite():
            raise InvalidEventError("amount", f"must be finite, got {amount!r}")
        code = currency.upper() if isinstance(currency, str) else currency
        minor = major.scaleb(_MINOR_UNITS.get(code, 2))
        if minor != minor.to_integral_value():
            raise InvalidEventError(
                "amount", f"{amount!r} has more decimals than {code} allows; round it first"
            )
        return cls(int(minor), currency)


MetadataValue: TypeAlias = (
    str | int | float | datetime | RichLink | MonetaryAmount | Mapping[str, Any]
)
"""A metadata value as the caller gives it (a mapping must be a rich link or money shape)."""

Metadata: TypeAlias = Mapping[str, MetadataValue]

_opt_str = attrs.field(default=None, kw_only=True, validator=_kind(str, optional=True))
_timestamp = _kind(int, datetime, optional=True)


@attrs.frozen(repr=False)
class DataEvent:
    """One data event: what ``send_data_events`` takes and what a list returns.

    ``id`` is Intercom's id of the contact (user or lead), ``user_id`` your own id. Sending
    needs exactly one of ``id``, ``user_id``, ``email``; listed events carry several.
    """

    event_name: str = attrs.field(validator=_kind(str))
    created_at: Timestamp | None = attrs.field(default=None, kw_only=True, validator=_timestamp)
    user_id: str | None = _opt_str
    id: str | None = _opt_str
    email: str | None = _opt_str
    intercom_user_id: str | None = _opt_str
    metadata: Metadata | None = attrs.field(
        default=None, kw_only=True, validator=_kind(Mapping, optional=True)
    )

    __repr__ = _compact_repr

    def _repr_html_(self) -> str:
        from ._notebook import event_html

        return event_html(self)


@attrs.frozen
class Pages:
    """Links to neighbouring pages of an event list; ``next`` is absent on the last page."""

    next: str | None = None
    since: str | None = None


@attrs.frozen
class DataEventList:
    """One page of a user's events (``type: event.list``), newest first."""

    events: tuple[DataEvent, ...] = ()
    pages: Pages | None = None
    type: str | None = "event.list"

    def __iter__(self) -> Iterator[DataEvent]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def _repr_html_(self) -> str:
        from ._notebook import event_list_html

        return event_list_html(self)

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame``, one row per event, with real dtypes (needs pandas).

        Nullable ``Int64``/``Float64``/``string`` columns, UTC datetimes for ``created_at`` and
        ``*_date`` keys, money split into ``metadata.KEY.amount`` (minor units) and
        ``.currency``, rich links into ``.url`` and ``.value`` (see docs/notebooks.md).
        """
        from ._notebook import event_list_frame

        return event_list_frame(self)


@attrs.frozen(repr=False)
class DataEventSummaryItem:
    """How often one event name occurred for a user, and when first and last."""

    name: str | None = None
    first: datetime | None = None
    last: datetime | None = None
    count: int | None = None
    description: str | None = None

    __repr__ = _compact_repr


@attrs.frozen(repr=False)
class DataEventSummary:
    """A user's events counted by name (``list_data_events(..., summary=True)``)."""

    events: tuple[DataEventSummaryItem, ...] = ()
    user_id: str | None = None
    email: str | None = None
    intercom_user_id: str | None = None
    type: str | None = "event.summary"

    __repr__ = _compact_repr

    def __iter__(self) -> Iterator[DataEventSummaryItem]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def _repr_html_(self) -> str:
        from ._notebook import summary_html

        return summary_html(self)

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame``, one row per event name (needs pandas): ``count`` as
        ``Int64``, ``first`` and ``last`` as UTC datetimes."""
        from ._notebook import summary_frame

        return summary_frame(self)


def _aware(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, datetime):
        aware(attribute.name, value)


@attrs.frozen
class EventSummary:
    """A summary to record for a user: ``count`` occurrences between ``first`` and ``last``."""

    event_name: str = attrs.field(validator=_kind(str))
    count: int = attrs.field(kw_only=True, validator=attr(bounded_int, minimum=1))
    first: Timestamp = attrs.field(kw_only=True, validator=[_kind(int, datetime), _aware])
    last: Timestamp = attrs.field(kw_only=True, validator=[_kind(int, datetime), _aware])


@attrs.frozen
class FailedEvent:
    """An event that was not accepted, with the error that says why."""

    event: DataEvent
    error: Exception


@attrs.frozen
class BulkResult:
    """The outcome of a bulk send: ``accepted + len(failed) == total``, always."""

    total: int
    accepted: int
    failed: list[FailedEvent] = attrs.Factory(list)

    def _repr_html_(self) -> str:
        from ._notebook import bulk_html

        return bulk_html(self)


@attrs.frozen
class TrackingStats:
    """A client's tracking so far: its own counts since it was made (zero again in a forked
    child), and ``pending``, the outbox's events not yet delivered or dead (a shared SQLite
    file: every process's)."""

    tracked: int = 0
    """Events this client's ``track()`` stored."""
    delivered: int = 0
    """Events this client's sender had accepted by Intercom."""
    dead: int = 0
    """Events this client's sender gave up on (see ``outbox.failed()``)."""
    pending: int = 0
    """Events in the outbox not yet delivered or dead."""
    retried: int = 0
    """Attempts this client's sender will make again (transient failure, 401/403, 404)."""
    lost: int = 0
    """Memory-outbox events undelivered at close (each passed to ``on_track_error``)."""


@attrs.frozen
class GateStats:
    """What a :class:`RedisRateGate` did in this process since it was made."""

    granted: int = 0
    """Slots the fleet's window in Redis granted."""
    waited: int = 0
    """Times Redis said to wait (the window spent, or the first request still out)."""
    fallbacks: int = 0
    """Times Redis failed or was slow and the gate fell back to the in-process window."""
