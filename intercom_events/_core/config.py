"""Client settings: where to send, with which token and version, how patiently.

:class:`ClientConfig` is resolved once when a client is made (the token read from the
environment then, not at import); :class:`RequestOptions` overrides parts of it per call.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import platform
import re
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, Final
from urllib.parse import urlsplit

import attrs

from .._version import __version__
from ..errors import IntercomError, InvalidEventError
from .body import ACCEPT_ENCODING
from .checks import bounded_int, kind, number
from .headers import Headers
from .retry import RetryPolicy

__all__ = [
    "REGIONS",
    "UNSET",
    "ClientConfig",
    "RequestOptions",
    "Secret",
    "no_authorization",
    "resolve_config",
]

REGIONS: Final = {
    "us": "https://api.intercom.io",
    "eu": "https://api.eu.intercom.io",
    "au": "https://api.au.intercom.io",
}
TOKEN_VARIABLES: Final = ("INTERCOM_ACCESS_TOKEN", "INTERCOM_API_KEY")
_VERSION = re.compile(r"(?:1\.[0-4]|2\.\d{1,2}|Preview|Unstable)")


class _Unset(Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset.UNSET
"""Marks an option that was not given (``timeout=None`` means "no timeout", not "default")."""


class Secret:
    """Holds the token; its repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The token itself, for the Authorization header only."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__


def _timeout(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not UNSET and value is not None:
        number(attribute.name, value, positive=True)


def _max_retries(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not UNSET:
        bounded_int(attribute.name, value, minimum=0)


def _retry_policy(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    kind(attribute.name, value, RetryPolicy, optional=True)


@attrs.frozen(kw_only=True)
class RequestOptions:
    """Per-call overrides: ``timeout`` (None: none), retries, extra headers and query."""

    timeout: float | _Unset | None = attrs.field(default=UNSET, validator=_timeout)
    max_retries: int | _Unset = attrs.field(default=UNSET, validator=_max_retries)
    retry_policy: RetryPolicy | None = attrs.field(default=None, validator=_retry_policy)
    additional_headers: Mapping[str, str] = attrs.field(factory=dict)
    additional_query_parameters: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True, slots=False)
class ClientConfig:
    """A client's resolved settings; shared by both clients, read by the request builders."""

    token: Secret
    base_url: str
    intercom_version: str
    timeout: float | None
    max_retries: int
    retry_policy: RetryPolicy
    metadata_max_keys: int | None
    headers: Mapping[str, str]
    close_timeout: float
    library: Callable[[], str]
    """``name/version`` of the executor's HTTP library; called when the first request is built."""

    @functools.cached_property
    def user_agent(self) -> str:
        """``intercom-events/<v> python/<x.y> <library>/<v>``."""
        return user_agent(self.library())

    @functools.cached_property
    def plain_headers(self) -> Headers:
        """The headers of a request without a body (the token is added by the executor)."""
        headers = {
            "Accept": "application/json",
            "Intercom-Version": self.intercom_version,
            "User-Agent": self.user_agent,
            **self.headers,
            "Accept-Encoding": ACCEPT_ENCODING,  # what the body reader decodes, on both executors
        }
        no_authorization(headers)
        return Headers(headers)

    @functools.cached_property
    def json_headers(self) -> Headers:
        """The headers of a request with a JSON body."""
        return Headers({**self.plain_headers, "Content-Type": "application/json"})


def no_authorization(headers: Mapping[str, str]) -> None:
    """Refuse an Authorization header: the token goes through ``token=``, redacted."""
    if any(name.lower() == "authorization" for name in headers):
        raise InvalidEventError(
            "headers", "set the token with token=..., not with an Authorization header"
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str, *, allow_insecure_http: bool) -> str:
    """The base URL without a trailing slash, refusing plain http to non-loopback hosts."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidEventError("base_url", f"must be an http(s) URL with a host, got {base_url!r}")
    if parts.query or parts.fragment:
        raise InvalidEventError("base_url", f"must not carry a query or fragment, got {base_url!r}")
    if parts.scheme == "http" and not (allow_insecure_http or _is_loopback(parts.hostname)):
        raise InvalidEventError(
            "base_url",
            f"{base_url!r} uses plain http to a non-loopback host, which would send the token "
            "in clear text; use https, or pass allow_insecure_http=True for a test host",
        )
    return base_url.rstrip("/")


def read_token(token: str | None) -> Secret:
    """The explicit token, else ``INTERCOM_ACCESS_TOKEN``, else ``INTERCOM_API_KEY``."""
    if token is None:
        token = next((os.environ[n] for n in TOKEN_VARIABLES if os.environ.get(n)), None)
    if not isinstance(token, str) or not token.strip():
        raise IntercomError(
            "no Intercom access token: pass token=... or set INTERCOM_ACCESS_TOKEN "
            "(or INTERCOM_API_KEY)"
        )
    token = token.strip()
    # Only printable ASCII is sent alike by both executors (requests encodes headers as
    # Latin-1, aiohttp as UTF-8); anything else would fail in the HTTP library, whose error
    # prints the header, token and all. The message never shows the token.
    bad = next((i for i, c in enumerate(token) if not " " <= c <= "~"), None)
    if bad is not None:
        raise IntercomError(
            f"the access token has a character a header cannot carry (a control character "
            f"or a non-ASCII letter) at position {bad + 1} of {len(token)}; check how it was "
            "copied"
        )
    return Secret(token)


def user_agent(library: str) -> str:
    """``intercom-events/<v> python/<x.y> <library>/<v>``."""
    py = ".".join(platform.python_version_tuple()[:2])
    return f"intercom-events/{__version__} python/{py} {library}"


def resolve_config(
    *,
    token: str | None,
    region: str,
    base_url: str | None,
    intercom_version: str,
    timeout: float | None,
    max_retries: int,
    retry_policy: RetryPolicy | None,
    metadata_max_keys: int | None,
    headers: Mapping[str, str] | None,
    allow_insecure_http: bool,
    close_timeout: float,
    library: Callable[[], str],
) -> ClientConfig:
    """Check and settle a client's constructor arguments, in one place for both clients.

    ``base_url=None`` means ``INTERCOM_BASE_URL`` if set (to point code you do not control at
    a test server), else the region's host.
    """
    if base_url is None:
        base_url = os.environ.get("INTERCOM_BASE_URL") or None
    if base_url is None:
        if region not in REGIONS:
            raise InvalidEventError("region", f"must be one of {sorted(REGIONS)}, got {region!r}")
        base_url = REGIONS[region]
    if not isinstance(intercom_version, str) or not _VERSION.fullmatch(intercom_version):
        raise InvalidEventError(
            "intercom_version",
            f"must be a version such as '2.14', or 'Preview'/'Unstable', got {intercom_version!r}",
        )
    # The client-wide values obey the per-call rules.
    RequestOptions(timeout=timeout, max_retries=max_retries, retry_policy=retry_policy)
    if metadata_max_keys is not None:
        bounded_int("metadata_max_keys", metadata_max_keys, minimum=1)
    no_authorization(headers or {})
    return ClientConfig(
        token=read_token(token),
        base_url=check_base_url(base_url, allow_insecure_http=allow_insecure_http),
        intercom_version=intercom_version,
        timeout=timeout,
        max_retries=max_retries,
        retry_policy=retry_policy or RetryPolicy(),
        metadata_max_keys=metadata_max_keys,
        headers=dict(headers or {}),
        close_timeout=number("close_timeout", close_timeout),
        library=library,
    )
