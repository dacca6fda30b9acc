"""Ctrl-C during a sync bulk send, deferred to a point where every event is accounted for.

A ``KeyboardInterrupt`` can land between any two bytecodes: after an event is taken from
the caller's iterator and before it is tracked, it would be lost. While a bulk send runs on
the main thread, the first SIGINT is only noted; the send checks for it between events and
stops there. A second SIGINT raises at once (so a stuck input can still be interrupted).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType

__all__ = ["DeferredInterrupt"]


class DeferredInterrupt:
    """A context manager: inside it, :attr:`arrived` says Ctrl-C was pressed."""

    def __init__(self) -> None:
        self.arrived = False
        self._previous: object = None

    def __enter__(self) -> DeferredInterrupt:
        # Only Python's own handler is replaced: a program's custom one stays in charge.
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._previous = signal.signal(signal.SIGINT, self._note)
        return self

    def _note(self, signum: int, frame: FrameType | None) -> None:
        if self.arrived:
            raise KeyboardInterrupt
        self.arrived = True

    def check(self) -> None:
        """Raise the deferred ``KeyboardInterrupt``, if there is one."""
        if self.arrived:
            raise KeyboardInterrupt

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]
        if self.arrived and exc_type is None:
            raise KeyboardInterrupt  # it came after the last look: every event is reported
