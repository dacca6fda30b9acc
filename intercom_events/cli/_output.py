"""What the command line prints: tables, JSON or text results, one-line warnings and errors."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TextIO

import attrs

from .._core.validation import identifier
from ..models import DataEvent

__all__ = [
    "describe",
    "emit",
    "iso",
    "plain",
    "stderr",
    "table",
    "unix",
    "warning_line",
    "who",
]


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


def emit(as_json: bool, out: TextIO, data: object, text: str) -> None:
    """A command's result: ``data`` as JSON with ``--json``, else ``text``."""
    print(json.dumps(data, default=str) if as_json else text, file=out)


def who(event: DataEvent) -> str:
    """``user_id=42``: the identifier an event is sent for."""
    found = identifier(event)
    return f"{found[0]}={found[1]}" if found else "nobody"


def iso(value: object) -> str:
    """A time for a table: Unix seconds or a datetime as ISO 8601 ("" for anything else)."""
    if isinstance(value, int):
        return datetime.fromtimestamp(value, UTC).isoformat()
    return value.isoformat() if isinstance(value, datetime) else ""


def unix(value: object) -> int | None:
    """A time for JSON and CSV: Unix seconds (None for anything that is not a time)."""
    if isinstance(value, datetime):
        return math.floor(value.timestamp())
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def plain(value: object) -> object:
    """A model as JSON-ready data: attrs classes as dicts, tuples as lists, times as Unix
    seconds (one time format in every JSON output)."""
    kind = type(value)
    if attrs.has(kind):
        return {a.name: plain(getattr(value, a.name)) for a in attrs.fields(kind)}
    if isinstance(value, datetime):
        return unix(value)
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def describe(error: BaseException) -> str:
    """One line for an error: its class and message (with status and request id for API ones)."""
    return f"{type(error).__name__}: {' '.join(str(error).split())}"


def stderr(text: str) -> None:
    """A line on stderr; through tqdm once it is loaded, so a progress bar stays whole."""
    tqdm = sys.modules.get("tqdm")
    if tqdm is not None:
        tqdm.tqdm.write(text, file=sys.stderr)
    else:
        print(text, file=sys.stderr)


def warning_line(
    shown: set[str],
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """A warning as one line on stderr, each text once (not a file name and source line)."""
    if str(message) not in shown:
        shown.add(str(message))
        stderr(f"warning: {message}")
