"""Pinning ``created_at`` so that distinct events never merge under Intercom's de-duplication.

Intercom keeps one event per (contact, event name, ``created_at`` second). An event sent
without ``created_at`` is pinned to now, or, when this client already used that second (or a
later one) for the same contact and name, to the next free second, at most :data:`AHEAD`
seconds ahead of the clock. An explicit ``created_at`` is never changed; sending one again
with other metadata warns, since Intercom keeps only the first.

The rule is :func:`choose_second`, over a store of used seconds: :class:`PinTable` in
memory (state without a lock; the client that owns it holds one around :meth:`pin`), or an
SQLite outbox's file, shared by the processes that track into it.
"""

from __future__ import annotations

import enum
import json
import math
from collections import deque
from collections.abc import Callable
from typing import Protocol

__all__ = [
    "AHEAD",
    "REMEMBERED",
    "Claim",
    "Key",
    "PinTable",
    "Pins",
    "choose_second",
    "dedup_key",
    "fingerprint",
]

AHEAD = 60
"""Seconds an automatic pin may run ahead of the clock for one contact and event name."""
REMEMBERED = 100_000
"""How many sent (contact, name, second) triples are remembered, whatever their age."""

Key = tuple[str, str, str]
"""(identifier name, identifier value, event name as Intercom compares it)."""


def dedup_key(identifier: str, value: str, event_name: str) -> Key:
    """The de-duplication key: Intercom ignores case and reads ``.`` and ``$`` as ``-``."""
    return identifier, value, event_name.lower().replace(".", "-").replace("$", "-")


def fingerprint(metadata: object) -> str:
    """The metadata's wire form as one string, to tell a resend from a different event."""
    return json.dumps(metadata, sort_keys=True, separators=(",", ":"), default=str)


class Pins(Protocol):
    """What the request builder asks for every event it sends."""

    def pin(
        self, key: Key, requested: int | None, fingerprint: str, now: float
    ) -> tuple[int, str | None]:
        """The second to send (``requested`` when given), and a warning to give, or None."""
        ...  # pragma: no cover


class Claim(enum.Enum):
    """What a store says when a (key, second) is claimed."""

    FREE = "free"
    """It was unused and is now taken."""
    SAME = "same"
    """It was already used, with the same metadata."""
    OTHER = "other"
    """It was already used, with other metadata."""


Claimer = Callable[[int], Claim]
"""Claims one second for the key and metadata at hand."""


def choose_second(
    claim: Claimer, key: Key, requested: int | None, now: float, *, ahead: int = AHEAD
) -> tuple[int, str | None]:
    """The one pinning rule, over any store of used seconds (memory, or an SQLite file).

    Automatic: the first second from now the store can claim, at most ``ahead`` seconds on
    (past that, the limit itself, with a warning). Explicit: ``requested``, with a warning
    when that second was already sent with other metadata.
    """
    if requested is not None:
        if claim(requested) is Claim.OTHER:
            return requested, (
                f"{key[2]!r} for {key[0]}={key[1]} at created_at={requested} was already sent "
                "with other metadata: Intercom keeps only the first"
            )
        return requested, None
    pinned = limit = math.floor(now)
    limit += ahead
    while claim(pinned) is not Claim.FREE:
        if pinned == limit:
            return pinned, (
                f"more than {ahead} {key[2]!r} events a second for {key[0]}={key[1]}: "
                f"pinned created_at={pinned}, which Intercom may merge with another event"
            )
        pinned += 1
    return pinned, None


class PinTable:
    """The seconds one client has sent per (contact, event name); memory stays bounded.

    ``_near`` holds, per key, the used seconds from the clock's second on (those behind it
    are dropped as time passes); ``_sent`` remembers the last :data:`REMEMBERED` sends with
    their metadata, for the resend warning and for explicit seconds further ahead, as hashes
    (100,000 of them take about 20 MB).
    """

    def __init__(self, *, ahead: int = AHEAD, remembered: int = REMEMBERED) -> None:
        self._ahead = ahead
        self._remembered = remembered
        self._near: dict[Key, set[int]] = {}
        self._sent: dict[int, int] = {}  # hash((key, second)) -> hash(metadata), first kept
        self._order: deque[int] = deque()  # the keys of _sent, oldest first
        self._swept = -1

    def __len__(self) -> int:
        """How many (key, second) pairs at or after the clock are held."""
        return sum(len(seconds) for seconds in self._near.values())

    def pin(
        self, key: Key, requested: int | None, fingerprint: str, now: float
    ) -> tuple[int, str | None]:
        """The second to send, and a warning (``IntercomEventWarning`` text) or None."""
        second = math.floor(now)
        self._sweep(second)
        near = self._near.get(key, set())
        metadata = hash(fingerprint)

        def claim(pinned: int) -> Claim:
            sent = hash((key, pinned))
            previous = self._sent.get(sent)
            if previous is None and pinned not in near:
                if second <= pinned <= second + self._ahead:
                    self._near.setdefault(key, near).add(pinned)
                self._remember(sent, metadata)
                return Claim.FREE
            return Claim.SAME if previous in (None, metadata) else Claim.OTHER

        return choose_second(claim, key, requested, now, ahead=self._ahead)

    def _remember(self, sent: int, fingerprint: int) -> None:
        self._sent[sent] = fingerprint
        self._order.append(sent)
        if len(self._order) > self._remembered:
            del self._sent[self._order.popleft()]

    def _sweep(self, second: int) -> None:
        """Drop the seconds behind the clock, at most once per second."""
        if second <= self._swept:
            return
        self._swept = second
        for key in list(self._near):
            kept = {s for s in self._near[key] if s >= second}
            if kept:
                self._near[key] = kept
            else:
                del self._near[key]
