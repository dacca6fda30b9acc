"""Reading events from ``.jsonl`` and ``.csv`` files (``_failed`` writes the failed ones back).

Rows stream one at a time. A row that cannot become a valid :class:`DataEvent` (not JSON or
not UTF-8, unknown fields, wrong types, a rule of the API broken) is a :class:`BadRow` whose
error names its line; it is reported as failed like an event the API refused. An
:class:`EventFile` knows how far it has read and a digest of that part, so an import resumes.

CSV: a header row naming ``event_name``, ``created_at``, ``user_id`` / ``email`` / ``id``,
``metadata.KEY`` columns and a ``metadata`` column holding a JSON object; an empty cell is
absent. A ``metadata.KEY`` cell written as a JSON number (``42``, ``-3.5``, ``1e3``) is sent
as a number, anything else as text (``007``, ``+5``, ``1_000``, ``NaN``, ``" 42"``); the JSON
column gives exact types.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Self

import attrs

from .._core.validation import json_body, parse_time, prepare_event
from ..errors import InvalidEventError
from ..models import DataEvent

__all__ = ["FIELDS", "BadRow", "EventFile", "read_events", "scalar"]

FIELDS = ("event_name", "created_at", "user_id", "email", "id", "metadata")
IDENTIFIERS = ("user_id", "email", "id")
IGNORED = ("error",)
SUFFIXES = (".jsonl", ".ndjson", ".csv")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


@attrs.frozen
class BadRow:
    """A row that could not be read as an event: where it is, what it held, and why.

    ``raw`` is the line's text when it could not be parsed at all (not JSON, not UTF-8, not
    valid CSV): such a row goes to the rejects file, the others to the failed file.
    """

    line: int
    row: object
    error: InvalidEventError
    raw: str | None = None


@attrs.frozen
class _Refused:
    """A row refused while it was read: the field at fault, why, and what to write back;
    ``raw``, the text, when it could not be parsed at all."""

    field: str
    why: str
    row: object
    raw: str | None = None


class EventFile:
    """An open ``.jsonl`` or ``.csv`` file; iterate it for :class:`DataEvent` or :class:`BadRow`.

    Opening checks the suffix and a CSV header (``ValueError``; ``OSError`` from the file), so
    a wrong file fails before anything is sent. ``line``: the line of the last row handed out;
    ``offset``: the bytes read through it, and ``digest()`` theirs (SHA-256), so that a later
    ``EventFile(path, resume=(offset, line))`` goes on at the next row of the same file.
    """

    def __init__(self, path: Path, *, resume: tuple[int, int] = (0, 0)) -> None:
        if path.suffix.lower() not in SUFFIXES:
            raise ValueError(f"{path}: expected a .jsonl or .csv file")
        self.path = path
        self.line = self._read = 0
        self.offset = self._consumed = 0
        self._hash = hashlib.sha256()
        self._file = path.open("rb")
        self._header: tuple[str, ...] = ()
        self._cells: Iterator[list[str]] | None = None
        if path.suffix.lower() == ".csv":
            self._cells = csv.reader(self._text_lines(), strict=True)
            try:
                self._header = _header(next(self._cells, []))
            except (ValueError, csv.Error) as error:
                self._file.close()
                raise ValueError(f"{path}: {error}") from None
        self._skip(*resume)

    def _skip(self, offset: int, line: int) -> None:
        """Go on after ``offset`` bytes (``line`` lines), hashing what is skipped."""
        left = offset - self._consumed
        while left > 0 and (chunk := self._file.read(min(left, 1 << 20))):
            self._hash.update(chunk)
            self._consumed += len(chunk)
            left -= len(chunk)
        if offset:
            self.offset, self.line, self._read = self._consumed, line, line

    def digest(self) -> str:
        """SHA-256 (hex) of the file's first :attr:`offset` bytes."""
        return self._hash.hexdigest()

    def __iter__(self) -> Iterator[DataEvent | BadRow]:
        rows = self._csv_rows() if self._cells is not None else self._jsonl_rows()
        for line, row in rows:
            self.line, self.offset = line, self._consumed
            try:
                event = _event(row)
                _check(event)
            except InvalidEventError as error:
                kept = row.row if isinstance(row, _Refused) else row
                raw = row.raw if isinstance(row, _Refused) else None
                why = InvalidEventError(f"line {line}: {error.field}", error.rule)
                yield BadRow(line, kept, why, raw)
            else:
                yield event

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _text_lines(self) -> Iterator[str]:
        # Undecodable bytes survive as lone surrogates; the row holding them is refused.
        for raw in self._file:
            self._read += 1
            self._hash.update(raw)
            self._consumed += len(raw)
            text = raw.decode("utf-8", "surrogateescape")
            yield text.removeprefix("\ufeff") if self._read == 1 else text

    def _csv_rows(self) -> Iterator[tuple[int, object]]:
        assert self._cells is not None
        while True:
            start = self._read + 1
            try:
                cells = next(self._cells)
            except StopIteration:
                return
            except csv.Error as error:
                yield start, _Refused("row", f"is not valid CSV ({error})", {}, raw="")
                continue
            if any(cells):
                yield start, _csv_row(self._header, cells)

    def _jsonl_rows(self) -> Iterator[tuple[int, object]]:
        for line, raw in enumerate(self._file, self.line + 1):
            self._hash.update(raw)
            self._consumed += len(raw)
            try:
                text = raw.decode("utf-8").removeprefix("\ufeff" if line == 1 else "").strip()
            except UnicodeDecodeError:
                lost = raw.decode("utf-8", "replace").strip()
                yield line, _Refused("row", "is not UTF-8 text", {"row": lost}, raw=lost)
                continue
            if text:
                try:
                    yield line, json.loads(text)
                except (ValueError, RecursionError) as error:
                    yield line, _Refused("row", f"is not JSON ({error})", {"row": text}, text)


def read_events(path: Path) -> Iterator[DataEvent | BadRow]:
    """The events of a ``.jsonl`` or ``.csv`` file, lazily; bad rows as :class:`BadRow`."""
    with EventFile(path) as events:
        yield from events


def _header(cells: Sequence[str]) -> tuple[str, ...]:
    """The CSV header's column names, checked."""
    header = tuple(name.strip() for name in cells)
    if not header:
        return header
    if not _is_utf8("".join(header)):
        raise ValueError("the header row is not UTF-8 text")
    unknown = [c for c in header if c not in FIELDS + IGNORED and not _metadata_column(c)]
    if unknown:
        raise ValueError(f"unknown columns {unknown}; expected {', '.join(FIELDS)}, metadata.KEY")
    if len(set(header)) != len(header):
        raise ValueError("a column appears twice in the header")
    if "event_name" not in header or not set(IDENTIFIERS) & set(header):
        raise ValueError("needs an event_name column and a user_id, email or id one")
    return header


def _metadata_column(column: str) -> bool:
    return column.startswith("metadata.") and len(column) > len("metadata.")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _csv_row(header: Sequence[str], cells: Sequence[str]) -> object:
    """A CSV record as a jsonl row (empty cells left out), or why it cannot be one."""
    if not _is_utf8("".join(cells)):
        fixed = [c.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for c in cells]
        return _Refused("row", "is not UTF-8 text", {"row": fixed}, raw=_csv_text(fixed))
    if len(cells) != len(header):
        why = f"has {len(cells)} cells, the header {len(header)}"
        return _Refused("row", why, {"row": list(cells)}, raw=_csv_text(cells))
    row: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    for column, cell in zip(header, cells, strict=True):
        if not cell:
            continue
        if _metadata_column(column):
            metadata[column.removeprefix("metadata.")] = scalar(cell)
        else:
            row[column] = cell
    given = row.pop("metadata", None)
    if given is not None:
        try:
            parsed = json.loads(given)
        except (ValueError, RecursionError):
            parsed = None
        if not isinstance(parsed, dict):
            row["metadata"] = metadata
            return _Refused("metadata", f"the metadata column must be a JSON object: {given}", row)
        twice = sorted(set(parsed) & set(metadata))
        metadata = {**parsed, **metadata}
        if twice:
            row["metadata"] = metadata
            return _Refused("metadata", f"{twice} given by a column and the JSON object", row)
    if metadata:
        row["metadata"] = metadata
    return row


def _csv_text(cells: Sequence[str]) -> str:
    """Cells as the CSV line they came from (near enough: quoting may differ)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


def scalar(text: str) -> str | int | float:
    """A cell written as a JSON number (``42``, ``-3.5``, ``1e3``) as that number, else text.

    An integer of more than 19 digits (past the 64-bit range) stays text.
    """
    match = _NUMBER.fullmatch(text)
    if match is None:
        return text
    if match.group(1) is None and match.group(2) is None:
        return int(text) if len(text.lstrip("-")) <= 19 else text
    number = float(text)
    return number if math.isfinite(number) else text


def _event(row: object) -> DataEvent:
    if isinstance(row, _Refused):
        raise InvalidEventError(row.field, row.why)
    if not isinstance(row, dict):
        raise InvalidEventError("row", f"must be a JSON object, got {type(row).__name__}")
    unknown = sorted(set(row) - set(FIELDS) - set(IGNORED))
    if unknown:
        raise InvalidEventError("row", f"unknown fields {unknown}; expected {', '.join(FIELDS)}")
    created_at = row.get("created_at")
    if isinstance(created_at, str):
        created_at = parse_time("created_at", created_at)
    metadata = row.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidEventError("metadata", f"must be a JSON object, got {type(metadata).__name__}")
    return DataEvent(
        row.get("event_name"),  # type: ignore[arg-type]  # checked by DataEvent
        created_at=created_at,
        user_id=_text(row.get("user_id")),
        email=_text(row.get("email")),
        id=_text(row.get("id")),
        metadata=metadata,
    )


def _check(event: DataEvent) -> None:
    """The SDK's own rules (all but the client's metadata key limit), so errors name the line."""
    _, body = prepare_event(event, now=0, max_keys=None)
    json_body(body)


def _text(value: Any) -> Any:
    """Identifiers given as JSON integers are read as text; other types fail in DataEvent."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value
