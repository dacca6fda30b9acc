"""A local fake of Intercom's Data Events API, served over real HTTP on 127.0.0.1.

Use it in tests (``with FakeIntercom() as fake:`` or ``async with FakeIntercom() as fake:``),
in demos, or standalone (``python -m intercom_events.testing --port 8000``). It copies Intercom's
behaviour (bearer auth, version header, 202 with de-duplication, paging by ``pages.next``,
summaries, 10-second rate-limit windows) and can inject faults: 5xx, 429, dropped connections,
slow or non-JSON answers, redirects.
"""

from typing import TYPE_CHECKING, Any

from ._faults import FAULT_KINDS, WindowCount
from ._wire import RecordedRequest

if TYPE_CHECKING:
    from ._server import FakeIntercom

__all__ = ["FAULT_KINDS", "FakeIntercom", "RecordedRequest", "WindowCount"]


def __getattr__(name: str) -> Any:
    # aiohttp.web loads with the server, not with the package: the SDK's CLI reads the
    # fake's options (testing._options) on every start.
    if name == "FakeIntercom":
        from ._server import FakeIntercom

        return FakeIntercom
    raise AttributeError(f"module 'intercom_events.testing' has no attribute {name!r}")
