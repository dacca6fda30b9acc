"""The API commands: ``send``, ``list`` and ``summaries``.

Each takes parsed arguments and a client and returns an exit code; errors propagate to
``_main``, which turns them into exit codes.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

import attrs

from .._core.converter import converter
from ..client import DataEventsClient
from ..models import DataEvent, EventSummary, Metadata
from ._importer import scalar
from ._output import emit, iso, table, who
from ._parser import time_flag

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
    elif args.command == "list":
        who = {
            "user_id": args.user_id,
            "email": args.email,
            "intercom_user_id": args.intercom_user_id,
        }
        if args.summary:
            summary = client.list_data_events(**who, summary=True)
            rows = [(i.name or "", str(i.count), iso(i.first), iso(i.last)) for i in summary.events]
            emit(
                args.json,
                out,
                converter.unstructure(summary),
                table(("name", "count", "first", "last"), rows),
            )
        else:
            page = client.list_data_events(**who, per_page=args.per_page)
            lines = [(e.event_name, iso(e.created_at), _meta(e)) for e in page.events]
            emit(
                args.json,
                out,
                [_event_json(e) for e in page.events],
                table(("event", "created_at", "metadata"), lines),
            )
    else:
        summary_item = EventSummary(args.event, count=args.count, first=args.first, last=args.last)
        client.create_data_event_summaries(user_id=args.user_id, event_summaries=[summary_item])
        emit(
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
    when = f"{iso(event.created_at)} (created_at {event.created_at})"
    return f"{event.event_name} for {who(event)} at {when}"


def _meta(event: DataEvent) -> str:
    return json.dumps(_event_json(event).get("metadata", {}))
