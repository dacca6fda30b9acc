"""An import's progress: rows read, accepted, failed, pending, the rate and an ETA.

A tqdm bar over the file's bytes on a terminal (when tqdm is installed); otherwise a line on
stderr every 1,000 rows, as in logs. Refused and unparseable rows count as failed.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from datetime import timedelta
from typing import Any

from ._output import stderr

__all__ = ["ImportProgress"]

EVERY = 1000
"""Rows between two progress lines when there is no bar."""


class ImportProgress:
    """Shows an import's counts; :meth:`update` as often as you like (it throttles itself)."""

    def __init__(self, *, size: int, offset: int, rows: int, shown: bool) -> None:
        self._size = max(size, 1)
        self._started, self._from_offset, self._from_rows = time.monotonic(), offset, rows
        self._next_line = (rows // EVERY + 1) * EVERY
        self._shown_at = 0.0
        self._bar: Any = None
        if shown and sys.stderr.isatty() and importlib.util.find_spec("tqdm") is not None:
            from tqdm import tqdm

            self._bar = tqdm(
                total=size, initial=offset, unit="B", unit_scale=True, desc="import", leave=True
            )
        self._shown = shown

    def update(self, *, offset: int, rows: int, accepted: int, failed: int, pending: int) -> None:
        """The counts now; shown at most every 0.2 s on a bar, every 1,000 rows as lines."""
        if not self._shown:
            return
        if self._bar is not None:
            now = time.monotonic()
            if now - self._shown_at >= 0.2:
                self._shown_at = now
                self._bar.update(offset - self._bar.n)
                self._bar.set_postfix(
                    rows=rows, accepted=accepted, failed=failed, pending=pending, refresh=False
                )
        elif rows >= self._next_line:
            self._next_line = (rows // EVERY + 1) * EVERY
            stderr(self.line(offset=offset, rows=rows, accepted=accepted, failed=failed,
                             pending=pending))  # fmt: skip

    def line(self, *, offset: int, rows: int, accepted: int, failed: int, pending: int) -> str:
        """``R rows read (P%), A accepted, F failed, N pending, X rows/s, ETA H:MM:SS``."""
        took = max(time.monotonic() - self._started, 1e-6)
        rate = (rows - self._from_rows) / took
        speed = (offset - self._from_offset) / took
        left = max(self._size - offset, 0)
        eta = str(timedelta(seconds=round(left / speed))) if speed > 0 else "unknown"
        return (
            f"{rows} rows read ({100 * min(offset, self._size) / self._size:.0f}%), "
            f"{accepted} accepted, {failed} failed, {pending} pending, {rate:.0f} rows/s, "
            f"ETA {eta}"
        )

    def close(self, **counts: int) -> None:
        """The last counts: the bar finished, or a last line."""
        if self._bar is not None:
            self._shown_at = 0.0
            self.update(**counts)
            self._bar.close()
        elif self._shown:
            stderr(self.line(**counts))
