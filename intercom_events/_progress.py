"""The progress bar of a bulk send (``progress=True``): tqdm, an optional extra."""

from __future__ import annotations

import operator
from typing import Any

__all__ = ["progress_bar"]


def progress_bar(events: object) -> Any:
    """A tqdm bar sized from ``len(events)`` when the input knows it."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        raise ImportError(
            "progress=True needs tqdm: pip install 'intercom-events[progress]'"
        ) from None
    total = operator.length_hint(events) or None
    return tqdm(total=total, unit="event", desc="sending", dynamic_ncols=True)
