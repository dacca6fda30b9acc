"""The fake's state and Intercom's rules: contacts, events, summaries, de-duplication, paging.

Pure Python (no aiohttp) so the rules read on their own; what bodies and cursors look like is
in ``_wire``. Every public method of :class:`Store` takes one lock, because the server thread
writes while a test thread reads.
"""

from __future__ import annotations

import copy
import hashlib
import re
import threading
import urllib.parse
from typing import Any

import attrs

from ._wire import (
    METADATA_MAX_KEYS,
    ApiError,
    RecordedRequest,
    checked_field,
    decode_cursor,
    encode_cursor,
    is_int,
    is_name,
    is_user_id,
    normalise_name,
    summary_item,
    valid_metadata,
)

LISTED_SECONDS = 90 * 86_400
"""Events older than this are counted in summaries but not listed, as by Intercom."""
DEFAULT_PER_PAGE = 15
_LIST_IDENTIFIERS = ("user_id", "email", "intercom_user_id")
_CREATE_IDENTIFIERS = ("id", "user_id", "email")


@attrs.frozen
class Contact:
    """A registered user or lead: ``id`` is its Intercom id."""

    id: str
    user_id: str | None
    email: str | None


@attrs.frozen
class _Event:
    seq: int  # arrival order; breaks ties between equal created_at values
    contact_id: str
    name: str
    created_at: int
    wire: dict[str, Any]


class Store:
    """Contacts, events, posted summaries and the request log of one fake."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._contacts: list[Contact] = []
        self._events: list[_Event] = []
        self._dedup: set[tuple[str, str, int]] = set()
        # posted summaries as (contact id, name, count, first, last)
        self._summaries: list[tuple[str, str, int, int, int]] = []
        self._requests: list[RecordedRequest] = []

    # -- the test-facing side ------------------------------------------------------------------

    def add_user(self, *, user_id: str | None, email: str | None) -> str:
        """Register a contact; its Intercom id is derived from the seed and a counter."""
        if user_id is None and email is None:
            raise ValueError("add_user() needs user_id, email or both")
        for name, value in (("user_id", user_id), ("email", email)):
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"{name} must be a non-empty string")
        with self._lock:
            for other in self._contacts:
                if (user_id is not None and other.user_id == user_id) or (
                    email is not None and other.email == email
                ):
                    raise ValueError(f"a contact with {user_id or email!r} already exists")
            digest = hashlib.sha256(f"{self._seed}:{len(self._contacts)}".encode()).hexdigest()
            self._contacts.append(Contact(id=digest[:24], user_id=user_id, email=email))
            return digest[:24]

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(event.wire) for event in self._events]

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    # -- the API side --------------------------------------------------------------------------

    def _find(self, field: str, value: str) -> Contact:
        attr = "id" if field == "intercom_user_id" else field
        for contact in self._contacts:
            if getattr(contact, attr) == value:
                return contact
        raise ApiError(404, "not_found", "User Not Found")

    def create_event(self, body: Any) -> bool:
        """``POST /events``: store the event unless it is a duplicate; True when stored."""
        if not isinstance(body, dict):
            raise ApiError(400, "parameter_invalid", "Invalid JSON")
        name = checked_field(body, "event_name", is_name)
        created_at = checked_field(body, "created_at", is_int)
        if body.get("intercom_user_id") is not None:
            message = "intercom_user_id is not supported"
            raise ApiError(400, "parameter_invalid", message, "intercom_user_id")
        given = [key for key in _CREATE_IDENTIFIERS if body.get(key) is not None]
        if len(given) != 1:
            raise ApiError(400, "parameter_invalid", "Exactly one of id, user_id or email")
        key = given[0]
        ident = checked_field(body, key, is_user_id if key == "user_id" else is_name)
        wire = dict(body)
        metadata = body.get("metadata")
        if metadata is not None:
            if not isinstance(metadata, dict) or not all(map(valid_metadata, metadata.values())):
                raise ApiError(400, "parameter_invalid", "Invalid metadata", "metadata")
            wire["metadata"] = dict(list(metadata.items())[:METADATA_MAX_KEYS])
        with self._lock:
            contact = self._find(key, str(ident))
            dedup_key = (contact.id, normalise_name(name), created_at)
            if dedup_key in self._dedup:
                return False
            self._dedup.add(dedup_key)
            self._events.append(_Event(len(self._events), contact.id, name, created_at, wire))
            return True

    def create_summaries(self, body: Any) -> None:
        """``POST /events/summaries``: one summary object or a list of them for a user."""
        if not isinstance(body, dict):
            raise ApiError(400, "parameter_invalid", "Invalid JSON")
        user_id = checked_field(body, "user_id", is_user_id)
        items = checked_field(body, "event_summaries", lambda v: isinstance(v, dict | list) and v)
        parsed: list[tuple[str, int, int, int]] = []
        for item in [items] if isinstance(items, dict) else items:
            if not (
                isinstance(item, dict)
                and is_name(item.get("event_name"))
                and is_int(item.get("count"))
                and item["count"] >= 1
                and is_int(item.get("first"))
                and is_int(item.get("last"))
            ):
                message = "Invalid event summary"
                raise ApiError(400, "parameter_invalid", message, "event_summaries")
            parsed.append((item["event_name"], item["count"], item["first"], item["last"]))
        with self._lock:
            contact = self._find("user_id", str(user_id))
            for name, count, first, last in parsed:
                self._summaries.append((contact.id, name, count, first, last))

    def list_events(
        self, query: dict[str, list[str]], base_url: str, *, now: float
    ) -> dict[str, Any]:
        """``GET /events``: a page of events (newest first) or, with ``summary=true``, a summary."""
        if query.get("type") != ["user"]:
            raise ApiError(400, "parameter_not_found", "type must be 'user'", "type")
        given = [key for key in _LIST_IDENTIFIERS if key in query]
        if len(given) != 1 or len(query[given[0]]) != 1:
            code = "parameter_invalid" if given else "parameter_not_found"
            raise ApiError(400, code, "Exactly one of user_id, email or intercom_user_id")
        key, ident = given[0], query[given[0]][0]
        per_page = DEFAULT_PER_PAGE
        if "per_page" in query:
            raw = query["per_page"]
            if len(raw) != 1 or not re.fullmatch(r"[0-9]+", raw[0]) or int(raw[0]) < 1:
                raise ApiError(400, "parameter_invalid", "per_page is invalid", "per_page")
            per_page = int(raw[0])
        before = decode_cursor(query["before"][0]) if "before" in query else None
        with self._lock:
            contact = self._find(key, ident)
            if query.get("summary") == ["true"]:
                return self._summary(contact)
            mine = [e for e in self._events if e.contact_id == contact.id]
        oldest = now - LISTED_SECONDS  # Intercom lists the last 90 days only
        mine = [e for e in mine if e.created_at >= oldest]
        mine.sort(key=lambda e: (e.created_at, e.seq), reverse=True)
        if before is not None:
            mine = [e for e in mine if (e.created_at, e.seq) < before]
        page, rest = mine[:per_page], mine[per_page:]
        pages: dict[str, Any] = {"type": "pages"}
        if rest:
            last = page[-1]
            params = [
                ("type", "user"),
                (key, ident),
                ("per_page", str(per_page)),
                ("before", encode_cursor(last.created_at, last.seq)),
            ]
            encoded = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
            pages["next"] = f"{base_url}/events?{encoded}"
        return {
            "type": "event.list",
            "events": [self._listed(contact, e) for e in page],
            "pages": pages,
        }

    @staticmethod
    def _listed(contact: Contact, event: _Event) -> dict[str, Any]:
        return {
            "type": "event",
            "id": contact.id,
            "event_name": event.name,
            "created_at": event.created_at,
            "user_id": contact.user_id,
            "email": contact.email,
            "intercom_user_id": contact.id,
            "metadata": copy.deepcopy(event.wire.get("metadata") or {}),
        }

    def _summary(self, contact: Contact) -> dict[str, Any]:
        # name (first spelling seen), count, first, last per normalised name; lock is held
        totals: dict[str, tuple[str, int, int, int]] = {}
        rows = [(e.contact_id, e.name, 1, e.created_at, e.created_at) for e in self._events]
        rows += self._summaries
        for owner, name, count, first, last in rows:
            if owner != contact.id:
                continue
            key = normalise_name(name)
            shown, total, lo, hi = totals.get(key, (name, 0, first, last))
            totals[key] = (shown, total + count, min(lo, first), max(hi, last))
        return {
            "type": "event.summary",
            "email": contact.email,
            "intercom_user_id": contact.id,
            "user_id": contact.user_id,
            "events": [summary_item(*row) for row in totals.values()],
        }
