"""The failed file an import writes, in the format its name asks for, and its rejects.

``--failed x.csv`` is CSV with the importer's columns (``metadata`` as a JSON object) and an
``error`` column the importer ignores; any other name is JSON lines. Either can be fixed and
re-run as it is. Lines that could not be parsed at all (not JSON, not UTF-8, broken CSV) go
to ``PATH.rejects`` instead, as JSON lines of ``line``, ``raw`` and ``reason``: they could
never be re-run, so they never enter the re-runnable file.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, TextIO

from ._importer import FIELDS, json_line

__all__ = ["FailedFile"]

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
