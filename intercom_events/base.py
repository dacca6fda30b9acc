"""What the sync and async clients share: construction, configuration, repr."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, TypeVar

from .config import ClientConfig, resolve_config
from .ratelimit import RateGate, RateLimit
from .retry import RetryPolicy

__all__ = ["ClientBase"]

SessionT = TypeVar("SessionT")


class ClientBase(Generic[SessionT]):
    """Resolves the settings once (the token read from the environment now, not at import)."""

    def __init__(
        self,
        token: str | None = None,
        *,
        region: str = "us",
        base_url: str | None = None,
        intercom_version: str = "2.14",
        timeout: float | None = 20.0,
        max_retries: int = 2,
        retry_policy: RetryPolicy | None = None,
        metadata_max_keys: int | None = 10,
        session: SessionT | None = None,
        headers: Mapping[str, str] | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        self._config = resolve_config(
            token=token,
            region=region,
            base_url=base_url,
            intercom_version=intercom_version,
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            metadata_max_keys=metadata_max_keys,
            headers=headers,
            allow_insecure_http=allow_insecure_http,
            library=self._library,
        )
        self._gate = RateGate()
        self._setup(self._config, self._gate, session)

    def _library(self) -> str:
        """``name/version`` of the HTTP library, for the User-Agent."""
        raise NotImplementedError

    def _setup(self, config: ClientConfig, gate: RateGate, session: SessionT | None) -> None:
        """Make the executor and the raw view."""
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        """Where requests go, e.g. ``https://api.intercom.io``."""
        return self._config.base_url

    @property
    def rate_limit(self) -> RateLimit | None:
        """The rate-limit window the latest response reported (None before any did)."""
        return self._gate.latest

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self.base_url!r}, "
            f"intercom_version={self._config.intercom_version!r})"
        )
