"""Notebook views of the models: HTML tables and pandas DataFrames.

Jupyter shows a model through its ``_repr_html_``; ``_html`` builds that HTML (escaped, no
JavaScript). ``_frames`` builds the DataFrames behind ``to_pandas()`` with real dtypes (pandas
is the optional ``[notebook]`` extra, imported only when a frame is made). ``_values`` reads
metadata values (money, links, dates) the same way for both.

``events_frame(events)`` is the one place an iterable of events becomes a DataFrame: a page's
``to_pandas()`` and a pager's both call it, so every frame of events has the same columns.
"""

from __future__ import annotations

from ._frames import event_list_frame, events_frame, summary_frame
from ._html import bulk_html, event_html, event_list_html, summary_html

__all__ = [
    "bulk_html",
    "event_html",
    "event_list_frame",
    "event_list_html",
    "events_frame",
    "summary_frame",
    "summary_html",
]
