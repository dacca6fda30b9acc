"""What goes on the wire, as plain data: :class:`RequestSpec` and :class:`Headers`.

A spec carries an absolute, fully percent-encoded URL and the body as bytes, so every
executor sends exactly the same request whatever its HTTP library would have encoded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import attrs

if TYPE_CHECKING:
    from .retry import RetryClass, RetryPolicy

__all__ = ["Headers", "RequestSpec"]


class Headers(Mapping[str, str]):
    """An immutable, case-insensitive mapping of HTTP headers.

    Repeated headers are joined with ``", "``; iteration yields the names as first given.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        merged: dict[str, tuple[str, str]] = {}
        for name, value in pairs:
            key = name.lower()
            if key in merged:
                merged[key] = (merged[key][0], f"{merged[key][1]}, {value}")
            else:
                merged[key] = (name, value)
        self._items = merged

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return dict(self.lower_items()) == {str(k).lower(): v for k, v in other.items()}

    __hash__ = None  # type: ignore[assignment]

    def lower_items(self) -> Iterator[tuple[str, str]]:
        """(lower-case name, value) pairs."""
        return ((key, value) for key, (_, value) in self._items.items())

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


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
