"""The SQLite outbox's file: its tables, connections, and the pins kept in it.

``events`` holds every tracked event not yet delivered (``state`` 0) and the dead letters
(``state`` 1), each as its wire body; ``counts`` keeps the pending count (triggers keep it
right, so ``track()`` checks ``max_events`` with one read); ``pins`` the seconds pinned per
contact and event name, shared by every process on the file; ``lease`` who may send;
``import_progress`` and ``rejects`` how far an ``import`` has read its file, and the rows it
could not parse.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable

from .._core.timestamps import REMEMBERED, Claim, Key, choose_second
from ..errors import IntercomError

__all__ = ["SCHEMA", "FilePins", "connect"]

VERSION = 2
"""1: events, counts, pins, lease; 2: the import's progress and rejects (``imports``)."""
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    body BLOB NOT NULL,
    state INTEGER NOT NULL DEFAULT 0,
    due REAL NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    unknown_since REAL,
    status INTEGER,
    error BLOB,
    failed_at REAL
);
CREATE INDEX IF NOT EXISTS events_due ON events (state, due, id);
CREATE TABLE IF NOT EXISTS counts (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
INSERT OR IGNORE INTO counts VALUES ('pending', 0);
CREATE TRIGGER IF NOT EXISTS counted_in AFTER INSERT ON events WHEN new.state = 0
    BEGIN UPDATE counts SET n = n + 1 WHERE name = 'pending'; END;
CREATE TRIGGER IF NOT EXISTS counted_out AFTER DELETE ON events WHEN old.state = 0
    BEGIN UPDATE counts SET n = n - 1 WHERE name = 'pending'; END;
CREATE TRIGGER IF NOT EXISTS counted_state AFTER UPDATE OF state ON events
    WHEN old.state != new.state
    BEGIN UPDATE counts SET n = n + (CASE new.state WHEN 0 THEN 1 ELSE -1 END)
        WHERE name = 'pending'; END;
CREATE TABLE IF NOT EXISTS pins (
    key INTEGER NOT NULL, second INTEGER NOT NULL, metadata INTEGER NOT NULL,
    UNIQUE (key, second)
);
CREATE TABLE IF NOT EXISTS import_progress (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    file TEXT NOT NULL, size INTEGER NOT NULL, offset INTEGER NOT NULL, line INTEGER NOT NULL,
    digest TEXT NOT NULL, rows INTEGER NOT NULL, done INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS rejects (
    id INTEGER PRIMARY KEY, line INTEGER NOT NULL, raw TEXT NOT NULL, reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lease (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    host TEXT NOT NULL, pid INTEGER NOT NULL, started TEXT NOT NULL,
    token TEXT NOT NULL, expires REAL NOT NULL
);
"""

WAL_PAGES = 4000
"""Pages (4 KiB) past which a writer checkpoints itself: the keeper usually has by then."""
WAL_BYTES = 8 << 20
"""The size a WAL file is cut back to after a checkpoint."""
SYNCHRONOUS = {"process": "NORMAL", "fsync": "FULL"}
"""``durable=`` → SQLite's ``synchronous``: WAL with NORMAL survives a killed process,
FULL also a power loss."""


def connect(path: str, durable: str, *, checkpoints: bool) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, and busy-waiting.

    The keeper's connection (``checkpoints``) writes the WAL back to the database every
    second from its own thread, so a ``track()`` in an event loop seldom pays for a
    checkpoint; the others do so only past :data:`WAL_PAGES` (the WAL stays bounded if the
    keeper falls behind), and the file is cut back to :data:`WAL_BYTES` after one.
    """
    connection = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={SYNCHRONOUS[durable]}")
        connection.execute(f"PRAGMA journal_size_limit={WAL_BYTES}")
        if not checkpoints:
            connection.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > VERSION:
            raise IntercomError(
                f"{path} is an outbox of a newer intercom-events (format {version}); "
                "upgrade to open it"
            )
        if version < VERSION:
            _not_someone_elses(connection, path)
            connection.executescript(SCHEMA)  # every statement is IF NOT EXISTS: safe to race
            connection.execute(f"PRAGMA user_version={VERSION}")
    except BaseException:
        connection.close()
        raise
    return connection


def _not_someone_elses(connection: sqlite3.Connection, path: str) -> None:
    """Refuse to turn another program's SQLite file into an outbox."""
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    if tables - _OURS:
        raise IntercomError(f"{path} is an SQLite file of another program, not an outbox")


_OURS = {"events", "events_due", "counts", "counted_in", "counted_out", "counted_state"} | {
    "pins", "sqlite_autoindex_pins_1", "lease", "sqlite_autoindex_counts_1",
    "import_progress", "rejects",
}  # fmt: skip


def _stable(text: str) -> int:
    """A 63-bit hash that is the same in every process (``hash()`` is salted per process)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest()) >> 1


class FilePins:
    """The pins of an SQLite outbox: :func:`choose_second` over the file's ``pins`` table.

    Inside a ``track()`` the claim joins its transaction (the pin and the event commit
    together); otherwise (``create_data_event`` on a client with this outbox) it makes its own.
    """

    def __init__(self, run: Callable[[Callable[[sqlite3.Connection], object]], object]) -> None:
        self._run = run
        self._claimed = 0

    def pin(
        self, key: Key, requested: int | None, fingerprint: str, now: float
    ) -> tuple[int, str | None]:
        """The second to send, and a warning or None (see ``_core.timestamps``)."""
        contact = _stable("\x1f".join(key))
        metadata = _stable(fingerprint)

        def choose(connection: sqlite3.Connection) -> tuple[int, str | None]:
            def claim(second: int) -> Claim:
                cursor = connection.execute(
                    "INSERT OR IGNORE INTO pins (key, second, metadata) VALUES (?, ?, ?)",
                    (contact, second, metadata),
                )
                if cursor.rowcount == 1:
                    self._claimed += 1
                    return Claim.FREE
                (first,) = connection.execute(
                    "SELECT metadata FROM pins WHERE key = ? AND second = ?", (contact, second)
                ).fetchone()
                return Claim.SAME if first == metadata else Claim.OTHER

            chosen = choose_second(claim, key, requested, now)
            if self._claimed >= 1000:  # keep the last REMEMBERED pins, as the memory table does
                self._claimed = 0
                connection.execute(
                    "DELETE FROM pins WHERE rowid <= (SELECT max(rowid) FROM pins) - ?",
                    (REMEMBERED,),
                )
            return chosen

        return self._run(choose)  # type: ignore[return-value]
