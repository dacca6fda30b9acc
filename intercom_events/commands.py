"""The API commands of the command line: ``send``, ``list`` and ``summaries``.

Each takes parsed arguments and a client and returns an exit code; the parser and the error
handling are in :mod:`intercom_events.cli`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

import attrs

from .client import DataEventsClient
from .converter import converter
from .importer import scalar
from .models import DataEvent, EventSummary, Metadata

__all__ = [
    "add_commands",
    "parse_meta",
    "parse_time",
    "run_command",
    "table",
]


def parse_time(text: str) -> int | datetime:
    """Unix seconds, or an ISO 8601 time with an offset (``2026-01-31T12:00:00+01:00``)."""
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither Unix seconds nor an ISO 8601 time"
        ) from None
    if moment.utcoffset() is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs an offset, e.g. {text}+00:00")
    return moment


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
    send.add_argument("--created-at", type=parse_time, help="Unix seconds or ISO 8601 (now)")
    send.add_argument(
        "--meta",
        type=parse_meta,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a metadata value (repeatable); numbers are sent as numbers",
    )
    listing = commands.add_parser(
        "list", help="list a user's events or their summary", description="List a user's events."
    )
    who = listing.add_mutually_exclusive_group(required=True)
    who.add_argument("--user-id")
    who.add_argument("--email")
    who.add_argument("--intercom-user-id")
    listing.add_argument("--summary", action="store_true", help="counts per event name")
    listing.add_argument("--per-page", type=int, help="events per page (default: the API's)")
    summaries = commands.add_parser(
        "summaries",
        help="record an event summary for a user",
        description="Record that an event happened COUNT times between FIRST and LAST.",
    )
    summaries.add_argument("--user-id", required=True)
    summaries.add_argument("--event", required=True, metavar="NAME")
    summaries.add_argument("--count", type=int, required=True)
    summaries.add_argument("--first", type=parse_time, required=True, metavar="TIME")
    summaries.add_argument("--last", type=parse_time, required=True, metavar="TIME")


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
        _emit(args.json, out, _event_json(sent), f"sent {_describe(sent)}")
    elif args.command == "list":
        who = {
            "user_id": args.user_id,
            "email": args.email,
            "intercom_user_id": args.intercom_user_id,
        }
        if args.summary:
            summary = client.list_data_events(**who, summary=True)
            rows = [
                (i.name or "", str(i.count), _iso(i.first), _iso(i.last)) for i in summary.events
            ]
            _emit(
                args.json,
                out,
                converter.unstructure(summary),
                table(("name", "count", "first", "last"), rows),
            )
        else:
            page = client.list_data_events(**who, per_page=args.per_page)
            lines = [(e.event_name, _iso(e.created_at), _meta(e)) for e in page.events]
            _emit(
                args.json,
                out,
                [_event_json(e) for e in page.events],
                table(("event", "created_at", "metadata"), lines),
            )
    else:
        summary_item = EventSummary(args.event, count=args.count, first=args.first, last=args.last)
        client.create_data_event_summaries(user_id=args.user_id, event_summaries=[summary_item])
        _emit(
            args.json,
            out,
            {"recorded": 1},
            f"recorded {args.count} x {args.event} for {args.user_id}",
        )
    return 0


def _event_json(event: DataEvent) -> dict[str, Any]:
    data = {k: v for k, v in attrs.asdict(event, recurse=False).items() if v is not None}
    if event.metadata is not None:
        data["metadata"] = json.loads(
            json.dumps(converter.unstructure(dict(event.metadata)), default=str)
        )
    return data


def _describe(event: DataEvent) -> str:
    who = next(
        f"{k}={v}"
        for k, v in (("user_id", event.user_id), ("email", event.email), ("id", event.id))
        if v
    )
    return (
        f"{event.event_name} for {who} at {_iso(event.created_at)} (created_at {event.created_at})"
    )


def _meta(event: DataEvent) -> str:
    return json.dumps(_event_json(event).get("metadata", {}))


def _iso(value: object) -> str:
    if isinstance(value, int):
        return datetime.fromtimestamp(value, UTC).isoformat()
    return value.isoformat() if isinstance(value, datetime) else ""


def _emit(as_json: bool, out: TextIO, data: object, text: str) -> None:
    print(json.dumps(data, default=str) if as_json else text, file=out)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table, columns padded to their widest cell."""
    if not rows:
        return "(none)"
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    ruler = ["-" * width for width in widths]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, ruler, *rows]
    ]
    return "\n".join(lines)
