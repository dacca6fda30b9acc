"""An import's ledger in its SQLite outbox: how far the file is read, and what failed.

Each row read commits in one transaction with what became of it (an event tracked, a row
refused, a line that could not be parsed) and the new read position: after a crash the
import resumes at exactly the next row. The position carries a digest of the file up to it,
so a file changed since is noticed. Dead letters (refused by the rules or by Intercom) are
the failed file's rows; unparseable lines are the rejects.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import attrs

from .sqlite import SQLiteOutbox, _error

__all__ = ["ImportLedger", "Position"]


@attrs.frozen
class Position:
    """Where an import stands in its file."""

    file: str
    size: int
    """The file's size when the import began (for the ETA)."""
    offset: int
    """Bytes read, through the last row taken."""
    line: int
    digest: str
    """SHA-256 (hex) of the file's first ``offset`` bytes."""
    rows: int
    """Rows taken so far, whatever became of them."""
    done: bool = False


class ImportLedger:
    """The import's progress, refused rows and rejects, kept in ``outbox``'s file."""

    def __init__(self, outbox: SQLiteOutbox) -> None:
        self.outbox = outbox

    def position(self) -> Position | None:
        """Where the last run stopped, or None before any."""
        row = self.outbox._look(
            lambda c: c.execute(
                "SELECT file, size, offset, line, digest, rows, done FROM import_progress"
            ).fetchone()
        )
        if row is None:
            return None
        file, size, offset, line, digest, rows, done = row
        return Position(file, size, offset, line, digest, rows, bool(done))

    def restart(self) -> None:
        """Forget the file, its pending events, dead letters and rejects: start over."""
        with self.outbox._transaction() as connection:
            for table in ("import_progress", "rejects", "events", "pins"):
                connection.execute(f"DELETE FROM {table}")  # noqa: S608 - our own names

    @contextlib.contextmanager
    def row(self, position: Position) -> Iterator[Any]:
        """One row's transaction: what the block stores commits with ``position``, or
        nothing does (a Ctrl-C inside leaves the row to be read again)."""
        with self.outbox._transaction() as connection:
            yield connection
            connection.execute(
                "INSERT OR REPLACE INTO import_progress "
                "(one, file, size, offset, line, digest, rows, done) "
                "VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
                attrs.astuple(position),
            )

    @staticmethod
    def refuse(connection: Any, record: dict[str, Any], error: Exception) -> None:
        """Inside :meth:`row`: a row that parsed but broke a rule, kept as a dead letter."""
        body = json.dumps(record, default=str, ensure_ascii=False).encode(errors="replace")
        detail = f"{type(error).__name__}: {error}".encode()
        connection.execute(
            "INSERT INTO events (body, state, error, failed_at) VALUES (?, 1, ?, ?)",
            (body, detail, time.time()),
        )

    @staticmethod
    def reject(connection: Any, line: int, raw: str, reason: str) -> None:
        """Inside :meth:`row`: a line that could not be parsed at all."""
        connection.execute(
            "INSERT INTO rejects (line, raw, reason) VALUES (?, ?, ?)", (line, raw, reason)
        )

    def finish(self) -> None:
        """The whole file is read."""
        self.outbox._look(lambda c: c.execute("UPDATE import_progress SET done = 1"))

    def failed(self) -> list[tuple[dict[str, Any], str]]:
        """Every dead letter as an importer row, with its error (``Type: message``)."""
        rows = self.outbox._look(
            lambda c: c.execute(
                "SELECT body, status, error FROM events WHERE state = 1 ORDER BY id"
            ).fetchall()
        )
        failed = []
        for body, status, detail in rows:
            try:
                record = json.loads(body)
            except ValueError:
                record = {"row": body.decode(errors="replace")}
            error = _error(status, detail or b"")
            failed.append((record, f"{type(error).__name__}: {error}" if status else str(error)))
        return failed

    def rejects(self) -> list[tuple[int, str, str]]:
        """Every unparseable line: (line number, raw text, reason), in file order."""
        return list(
            self.outbox._look(
                lambda c: c.execute("SELECT line, raw, reason FROM rejects ORDER BY id").fetchall()
            )
        )

    def counts(self) -> tuple[int, int]:
        """(dead letters, rejects)."""
        dead, rejects = self.outbox._look(
            lambda c: c.execute(
                "SELECT (SELECT count(*) FROM events WHERE state = 1), "
                "(SELECT count(*) FROM rejects)"
            ).fetchone()
        )
        return int(dead), int(rejects)
