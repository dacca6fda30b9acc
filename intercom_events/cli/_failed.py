"""The failed rows an import writes, in the format the file's name asks for, and its rejects.

``--failed x.csv`` is CSV with the importer's columns (``metadata`` as a JSON object) and an
``error`` column the importer ignores; any other name is JSON lines. Either can be fixed and
re-run as it is. Lines that could not be parsed at all (not JSON, not UTF-8, broken CSV) go
to ``PATH.rejects`` instead, as JSON lines of ``line``, ``raw`` and ``reason``: they could
never be re-run, so they never enter the re-runnable file.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import attrs

from ..models import DataEvent, MonetaryAmount, RichLink
from ._importer import FIELDS, BadRow
from ._output import describe

__all__ = ["FailedFile", "failed_line", "json_line", "record"]

COLUMNS = (*FIELDS, "error")


class FailedFile:
    """Writes failed rows and rejects as they come; files are made only when needed."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.failed = self.rejected = 0
        self._rows: TextIO | None = None
        self._csv: Any = None
        self._rejects: TextIO | None = None

    @property
    def rejects_path(self) -> Path | None:
        return None if self.path is None else self.path.with_name(self.path.name + ".rejects")

    def start(self) -> None:
        """Make the failed file now (empty if nothing fails), so a re-run never reads an old one."""
        if self.path is not None:
            self._open_rows()
            if self.rejects_path is not None and self.rejects_path.exists():
                self.rejects_path.unlink()

    def _open_rows(self) -> TextIO:
        if self._rows is None:
            assert self.path is not None
            self._rows = self.path.open("w", encoding="utf-8", newline="")
            if self.path.suffix.lower() == ".csv":
                self._csv = csv.writer(self._rows)
                self._csv.writerow(COLUMNS)
        return self._rows

    def row(self, record: dict[str, Any], error: str) -> None:
        """A row that parsed but was refused, or failed when sent."""
        self.failed += 1
        if self.path is None:
            return
        rows = self._open_rows()
        if self._csv is None:
            print(json_line({**record, "error": error}), file=rows, flush=True)
            return
        extra = {key: value for key, value in record.items() if key not in FIELDS}
        if extra:  # a column the importer would refuse: kept in the error for the fix
            error = f"{error}; unknown fields {json.dumps(extra, default=str)}"
        self._csv.writerow([*(_cell(record.get(name)) for name in FIELDS), error])
        rows.flush()

    def reject(self, line: int, raw: str, reason: str) -> None:
        """A line that could not be parsed."""
        self.rejected += 1
        if self.rejects_path is None:
            return
        if self._rejects is None:
            self._rejects = self.rejects_path.open("w", encoding="utf-8")
        print(json_line({"line": line, "raw": raw, "reason": reason}), file=self._rejects)
        self._rejects.flush()

    def close(self) -> None:
        for file in (self._rows, self._rejects):
            if file is not None:
                file.close()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def record(item: DataEvent | BadRow) -> dict[str, Any]:
    """A row of the importer's own format: an event's fields, or what a bad row held."""
    if isinstance(item, BadRow):
        return dict(item.row) if isinstance(item.row, dict) else {"row": item.row}
    found = {name: _plain(getattr(item, name)) for name in FIELDS}
    return {name: value for name, value in found.items() if value is not None}


def failed_line(item: DataEvent | BadRow, error: Exception) -> str:
    """A failed event as a line of the importer's own format, with ``error`` added."""
    return json_line({**record(item), "error": describe(error)})


def json_line(row: dict[str, Any]) -> str:
    """A row as one line of JSON (UTF-8 where it can be)."""
    text = json.dumps(row, default=str, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from undecodable input: escaped instead
        return json.dumps(row, default=str)
    return text


def _plain(value: object) -> object:
    """A value as JSON the importer reads back: typed metadata as its wire object."""
    if isinstance(value, RichLink | MonetaryAmount):
        return attrs.asdict(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value
