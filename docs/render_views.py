"""Render the notebook HTML view of an event list to docs/images/event-list.png.

Run on demand (not by the tests) after changing the views: ``python docs/render_views.py``.
It needs headless Chromium (Debian: ``apt-get install chromium``). The page wraps the view's
HTML in a small stylesheet like JupyterLab's table style, so the picture shows what a notebook
shows; the view itself carries no stylesheet.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from intercom_events import DataEvent, DataEventList, MonetaryAmount, Pages, RichLink

OUT = Path(__file__).parent / "images" / "event-list.png"
STYLE = """
body { font-family: system-ui, "DejaVu Sans", sans-serif; font-size: 13px; margin: 16px;
       color: #212121; background: #fff; }
table { border-collapse: collapse; border: none; }
caption { padding: 4px 0 8px; color: #616161; }
th, td { padding: 4px 10px; border: none; line-height: 1.4; }
thead { border-bottom: 1px solid #bdbdbd; }
th { font-weight: bold; }
tbody tr:nth-child(odd) { background: #f5f5f5; }
a { color: #1976d2; }
"""
WHEN = 1_796_282_887  # 2026-12-03 07:28:07 UTC


def sample() -> DataEventList:
    """A page as the API lists it: wire dicts for money and links, Unix seconds for dates."""
    contact = "6762f0dd1bb69f9f2193bb83"

    def listed(name: str, ago: int, metadata: dict[str, object]) -> DataEvent:
        return DataEvent(
            name,
            created_at=WHEN - ago,
            user_id="314159",
            email="ada@example.com",
            id=contact,
            intercom_user_id=contact,
            metadata=metadata,
        )

    return DataEventList(
        events=(
            listed(
                "placed-order",
                0,
                {
                    "order_id": 1042,
                    "price": {"amount": 34999, "currency": "eur"},
                    "receipt": {"url": "https://example.com/r/1042", "value": "receipt #1042"},
                    "delivery_date": WHEN + 3 * 86_400,
                },
            ),
            listed("viewed-report", 1_260, {"report": "https://example.com/reports/q4"}),
            listed(
                "placed-order",
                86_400,
                {
                    "order_id": 1041,
                    "price": MonetaryAmount(500, "jpy"),
                    "receipt": RichLink(url="https://example.com/r/1041", value="receipt #1041"),
                },
            ),
            listed("signed-in", 90_000, {"source": "desktop", "load": 3.67}),
        ),
        pages=Pages(next="https://api.intercom.io/events?type=user&before=1796192887"),
    )


def main() -> int:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("needs headless Chromium: apt-get install chromium", file=sys.stderr)
        return 1
    page = f"<!doctype html><meta charset='utf-8'><style>{STYLE}</style>"
    page += sample()._repr_html_()
    OUT.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "view.html"
        html.write_text(page, encoding="utf-8")
        command = [
            chromium,
            "--headless",
            "--no-sandbox",  # root in a container has no user namespace for the sandbox
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp}/profile",
            "--window-size=1000,300",
            f"--screenshot={OUT}",
            html.as_uri(),
        ]
        subprocess.run(command, check=True, capture_output=True, timeout=60)  # noqa: S603
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
