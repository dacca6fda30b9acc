"""What goes on the wire, as plain data: :class:`RequestSpec`.

A spec carries an absolute, fully percent-encoded URL and the body as bytes, so every
executor sends exactly the same request whatever its HTTP library would have encoded.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import attrs

from .headers import Headers
from .retry import RetryClass, RetryPolicy

__all__ = ["RequestSpec"]


@attrs.frozen
class RequestSpec:
    """One HTTP request, ready to send: everything an executor needs, nothing it must decide.

    The token is not here: executors add it (``requests`` through an auth object, so
    ``~/.netrc`` cannot replace it), which keeps specs safe to log and to repr.
    """

    method: str
    url: str
    headers: Headers
    body: bytes | None
    timeout: float | None
    max_retries: int
    retry_policy: RetryPolicy
    retry_class: RetryClass

    @property
    def path(self) -> str:
        """The URL path, for logs (the query may carry identifiers, so it is left out)."""
        return urlsplit(self.url).path
