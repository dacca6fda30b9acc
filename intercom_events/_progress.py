"""The progress bar of a bulk send (``progress=True``): tqdm, an optional extra.

Where the bar goes:

- In a terminal or a script: tqdm's text bar on stderr, as ``tqdm.auto`` picks it.
- In a notebook someone is looking at: ``tqdm.auto``'s widget, live.
- In a notebook executed without anyone looking (``nbclient``, ``jupyter nbconvert --execute``,
  papermill): one final text line when the bar closes. A widget there would be saved as a
  static, empty widget, and a text bar redrawn every update would fill the saved notebook.

The last case is told apart by the request that runs the cell: those tools execute cells with
``allow_stdin=False`` (they cannot answer ``input()``), while an interactive frontend
(JupyterLab, Notebook, VS Code) allows stdin. ``INTERCOM_EVENTS_PROGRESS`` overrides the
guess: ``text`` gives the final line anywhere (a notebook, or a script whose stderr is a log),
``auto`` always leaves the choice to ``tqdm.auto`` (e.g. a dashboard that executes cells without
stdin but shows widgets live).
"""

from __future__ import annotations

import operator
import os
import sys
from typing import Any

__all__ = ["final_line_only", "progress_bar"]

ENV = "INTERCOM_EVENTS_PROGRESS"


def final_line_only() -> bool:
    """Whether a bar made now should print only its final line.

    ``INTERCOM_EVENTS_PROGRESS`` set to ``text`` (yes) or ``auto`` (no) decides. Otherwise yes
    in a Jupyter kernel cell that no frontend is watching: its ``execute_request`` does not
    allow stdin (how nbclient, and so nbconvert and papermill, execute). No outside a kernel,
    terminal IPython included.
    """
    chosen = os.environ.get(ENV, "").strip().lower()
    if chosen in ("text", "auto"):
        return chosen == "text"
    ipython = sys.modules.get("IPython")  # never imported here: a kernel has imported it
    shell = ipython.get_ipython() if ipython is not None else None
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return False
    try:
        request = kernel.get_parent("shell") or {}
    except Exception:  # an older or unusual kernel: keep tqdm.auto's choice
        return False
    return request.get("content", {}).get("allow_stdin", True) is False


def progress_bar(events: object, *, unit: str = "event", desc: str = "sending") -> Any:
    """A tqdm bar sized from ``len(events)`` when the input knows it (see the module doc)."""
    unattended = final_line_only()
    try:
        if unattended:
            from tqdm.std import tqdm
        else:
            from tqdm.auto import tqdm
    except ImportError:
        raise ImportError(
            "progress=True needs tqdm: pip install 'intercom-events[progress]'"
        ) from None
    total = operator.length_hint(events) or None
    if unattended:
        return _final_line(tqdm)(total=total, unit=unit, desc=desc, file=sys.stderr)
    return tqdm(total=total, unit=unit, desc=desc, dynamic_ncols=True)


def _final_line(tqdm: Any) -> Any:
    """A tqdm text bar that draws nothing until it closes, then its final line."""

    class FinalLine(tqdm):  # type: ignore[misc]
        _closing = False

        def display(self, msg: str | None = None, pos: int | None = None) -> bool:
            if self._closing:  # close() adds the newline; no '\r', nothing to overwrite
                self.fp.write(msg if msg is not None else str(self))
            return True

        def close(self) -> None:
            self._closing = True
            super().close()

    return FinalLine
