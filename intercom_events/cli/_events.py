"""The API commands: ``send``, ``list`` and ``summaries``.

Each takes parsed arguments and a client and returns an exit code; errors propagate to
``_main``, which turns them into exit codes. ``list`` prints one page, or ``--limit N`` /
``--all`` events through the SDK's pager, as a table, JSON (keeping the API's ``pages``) or
CSV in the importer's columns. One time format each: ISO 8601 with an offset in tables and
text, Unix seconds in JSON and CSV.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import itertools
import json
import sys
from typing import Any, TextIO, TypedDict

import attrs

from .._core.converter import converter
from .._core.validation import summaries_body
from .._progress import progress_bar
from ..client import DataEventsClient
from ..models import DataEvent, DataEventList, EventSummary, Metadata
from ..pager import DataEventPager
from ._importer import scalar
from ._output import emit, iso, plain, stderr, table, unix, who
from ._parser import count_flag, time_flag

__all__ = ["add_commands", "parse_meta", "run_command"]


def parse_meta(text: str) -> tuple[str, str | int | float]:
    """``key=value`` for ``--meta``."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--meta takes key=value, got {text!r}")
    return key, scalar(value)


def add_commands(commands: Any) -> None:
    """The ``send``, ``list`` and ``summaries`` sub-parsers."""
    send = commands.add_parser("send", help="send one event", description="Send one event.")
    send.add_argument("event_name", metavar="NAME", help="the event name, e.g. placed-order")
    who = send.add_mutually_exclusive_group(required=True)
    who.add_argument("--user-id", help="your id of the user")
    who.add_argument("--email", help="the user's email")
    who.add_argument("--id", dest="id", help="Intercom's id of the user or lead")
    send.add_argument("--created-at", type=time_flag, help="Unix seconds or ISO 8601 (now)")
    send.add_argument(
        "--meta",
        type=parse_meta,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a metadata value (repeatable); numbers are sent as numbers",
    )
    listing = commands.add_parser(
        "list",
        help="list a user's events or their summary",
        description=(
            "List a user's events, newest first: one page, --limit N events or --all of them "
            "(following pages.next). Times are ISO 8601 in tables, Unix seconds in JSON and CSV."
        ),
    )
    who = listing.add_mutually_exclusive_group(required=True)
    who.add_argument("--user-id", help="your id of the user")
    who.add_argument("--email", help="the user's email")
    who.add_argument(
        "--intercom-user-id",
        "--id",
        dest="intercom_user_id",
        metavar="ID",
        help="Intercom's id of the user (--id, as on send)",
    )
    listing.add_argument("--summary", action="store_true", help="counts per event name")
    listing.add_argument(
        "--per-page", type=count_flag("per_page"), help="events per page (default: the API's)"
    )
    pages = listing.add_mutually_exclusive_group()
    pages.add_argument("--all", action="store_true", help="every event, following every page")
    pages.add_argument(
        "--limit", type=count_flag("limit"), metavar="N", help="at most N events, over pages"
    )
    listing.add_argument(
        "--csv", action="store_true", help="CSV in the importer's columns (for import)"
    )
    summaries = commands.add_parser(
        "summaries",
        help="record an event summary for a user",
        description="Record that an event happened COUNT times between FIRST and LAST.",
    )
    summaries.add_argument("--user-id", required=True)
    summaries.add_argument("--event", required=True, metavar="NAME")
    summaries.add_argument("--count", type=int, required=True)
    summaries.add_argument("--first", type=time_flag, required=True, metavar="TIME")
    summaries.add_argument("--last", type=time_flag, required=True, metavar="TIME")


def run_command(args: argparse.Namespace, client: DataEventsClient, out: TextIO) -> int:
    """Run ``send``, ``list`` or ``summaries``; API errors propagate to the caller."""
    if args.command == "send":
        metadata: Metadata | None = dict(args.meta) or None
        sent = client.create_data_event(
            event_name=args.event_name,
            user_id=args.user_id,
            email=args.email,
            id=args.id,
            created_at=args.created_at,
            metadata=metadata,
        )
        emit(args.json, out, _event_json(sent), f"sent {_describe(sent)}")
    elif args.command == "list" and args.summary:
        _list_summary(args, client, out)
    elif args.command == "list":
        _list_events(args, client, out)
    else:
        _record_summary(args, client, out)
    return 0


class _Who(TypedDict):
    """The identifier ``list`` was given (one set, the others None)."""

    user_id: str | None
    email: str | None
    intercom_user_id: str | None


def _who(args: argparse.Namespace) -> _Who:
    return {"user_id": args.user_id, "email": args.email, "intercom_user_id": args.intercom_user_id}


def _list_summary(args: argparse.Namespace, client: DataEventsClient, out: TextIO) -> None:
    paging = {"--all": args.all, "--limit": args.limit is not None, "--csv": args.csv}
    if given := [flag for flag, used in paging.items() if used]:
        raise ValueError(f"--summary counts events by name; it takes no {', '.join(given)}")
    summary = client.list_data_events(**_who(args), summary=True)
    rows = [(i.name or "", str(i.count), iso(i.first), iso(i.last)) for i in summary.events]
    emit(args.json, out, plain(summary), table(("name", "count", "first", "last"), rows))


def _list_events(args: argparse.Namespace, client: DataEventsClient, out: TextIO) -> None:
    """One page (and a hint when more follow), ``--limit N`` events, or ``--all``."""
    if args.csv and args.json:
        raise ValueError("--csv and --json are two output formats: give one")
    if args.all or args.limit is not None:
        pager = client.iter_data_events(**_who(args), per_page=args.per_page)
        events = _follow(pager, limit=args.limit)
        page = pager.last_page
        hint = None if pager.done else "more events follow: --all (or a larger --limit)"
    else:
        page = client.list_data_events(**_who(args), per_page=args.per_page)
        events = list(page.events)
        hint = "more pages follow: --all" if page.pages and page.pages.next else None
    if args.csv:
        _write_csv(out, events, _identifier(args))
    else:
        listed = {
            "type": "event.list",
            "events": [_event_json(e) for e in events],
            "pages": _pages_json(page),
        }
        lines = [(e.event_name, iso(e.created_at), _meta(e)) for e in events]
        emit(args.json, out, listed, table(("event", "created_at", "metadata"), lines))
    if hint:
        stderr(hint)


def _follow(pager: DataEventPager, *, limit: int | None) -> list[DataEvent]:
    """The pager's events (at most ``limit``), with a bar counting pages on a terminal."""
    shown = sys.stderr.isatty() and importlib.util.find_spec("tqdm") is not None
    bar = progress_bar((), unit="page", desc="listing") if shown else None
    events: list[DataEvent] = []
    try:
        for event in pager if limit is None else itertools.islice(pager, limit):
            events.append(event)
            if bar is not None and pager.pages_fetched > bar.n:
                bar.update(pager.pages_fetched - bar.n)
    finally:
        if bar is not None:
            bar.update(pager.pages_fetched - bar.n)
            bar.close()
    return events


def _pages_json(page: DataEventList | None) -> dict[str, Any]:
    """The API's ``pages`` object of ``page`` (``{}`` when it has none)."""
    found = plain(page.pages) if page is not None and page.pages is not None else {}
    assert isinstance(found, dict)
    return {key: value for key, value in found.items() if value is not None}


def _record_summary(args: argparse.Namespace, client: DataEventsClient, out: TextIO) -> None:
    summary = EventSummary(args.event, count=args.count, first=args.first, last=args.last)
    client.create_data_event_summaries(user_id=args.user_id, event_summaries=[summary])
    sent = summaries_body(args.user_id, [summary])  # what went out, as the core wrote it
    items = sent["event_summaries"]
    sent["event_summaries"] = items if isinstance(items, list) else [items]
    between = f"{iso(args.first)} to {iso(args.last)}"
    emit(
        args.json,
        out,
        sent,
        f"recorded {args.count} x {args.event} for {args.user_id} ({between})",
    )


_IDENTIFIER_COLUMNS = {"user_id": "user_id", "email": "email", "intercom_user_id": "id"}


def _identifier(args: argparse.Namespace) -> tuple[str, str]:
    """The importer's column for the identifier listed by, and its value."""
    name, value = next((n, v) for n, v in _who(args).items() if isinstance(v, str))
    return _IDENTIFIER_COLUMNS[name], str(value)


def _write_csv(out: TextIO, events: list[DataEvent], identifier: tuple[str, str]) -> None:
    """Events in the importer's columns, so ``intercom-events import`` reads them back.

    One identifier column (the one listed by: the importer takes exactly one per row);
    ``created_at`` in Unix seconds; a metadata value as a ``metadata.KEY`` cell where the
    importer reads the cell back as the same value, else in a JSON ``metadata`` column.
    """
    column, given = identifier
    rows = []
    for event in events:
        cells: dict[str, str] = {}
        rest = {}
        for key, value in (_event_json(event).get("metadata") or {}).items():
            cell = _metadata_cell(value)
            if cell is None:
                rest[key] = value
            else:
                cells[f"metadata.{key}"] = cell
        if rest:
            cells["metadata"] = json.dumps(rest, ensure_ascii=False)
        ident = (event.id or event.intercom_user_id) if column == "id" else getattr(event, column)
        created = unix(event.created_at)
        rows.append(
            {
                "event_name": event.event_name,
                "created_at": "" if created is None else str(created),
                column: ident or given,
                **cells,
            }
        )
    keys = dict.fromkeys(k for row in rows for k in row if k.startswith("metadata."))
    header = ["event_name", "created_at", column, *keys]
    if any("metadata" in row for row in rows):
        header.append("metadata")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([row.get(name, "") for name in header] for row in rows)


def _metadata_cell(value: object) -> str | None:
    """``value`` as a ``metadata.KEY`` cell the importer reads back as the same value."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = value if isinstance(value, str) else json.dumps(value)
    back = scalar(text)
    return text if text and type(back) is type(value) and back == value else None


def _event_json(event: DataEvent) -> dict[str, Any]:
    data = {k: v for k, v in attrs.asdict(event, recurse=False).items() if v is not None}
    if event.created_at is not None:
        data["created_at"] = unix(event.created_at)
    if event.metadata is not None:
        data["metadata"] = json.loads(
            json.dumps(converter.unstructure(dict(event.metadata)), default=str)
        )
    return data


def _describe(event: DataEvent) -> str:
    when = f"{iso(event.created_at)} (created_at {event.created_at})"
    return f"{event.event_name} for {who(event)} at {when}"


def _meta(event: DataEvent) -> str:
    return json.dumps(_event_json(event).get("metadata", {}))
