"""Fixtures: a running fake Intercom, and each client behind one awaitable facade.

Behaviour tests are written once, as ``async def``, against ``api``; the facade runs the
same operation on the sync client (directly) or on the async client (awaited), so every
behaviour is tested on both executors.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from intercom_events import AsyncDataEventsClient, DataEvent, DataEventsClient
from intercom_events.testing import FakeIntercom

TOKEN = "sk-test-0123456789-canary"
RECENT = (int(time.time()) // 86_400 - 30) * 86_400
"""Midnight (UTC) 30 days ago: Intercom, and the fake, list only the last 90 days' events."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Process-heavy tests run once per CI run: nox sets this to 0 on all but the newest."""
    if os.environ.get("INTERCOM_EVENTS_PROCESS_TESTS") == "0":
        skip = pytest.mark.skip(reason="process-heavy: run on the newest Python only")
        for item in items:
            if "processes" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see a developer's real Intercom settings."""
    for name in ("INTERCOM_ACCESS_TOKEN", "INTERCOM_API_KEY", "INTERCOM_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake() -> Iterator[FakeIntercom]:
    with FakeIntercom(token=TOKEN) as server:
        yield server


class SyncApi:
    """The sync client, with awaitable methods so one test body serves both clients."""

    kind = "sync"

    def __init__(self, client: DataEventsClient) -> None:
        self.client = client

    async def call(self, name: str, **kwargs: Any) -> Any:
        return getattr(self.client, name)(**kwargs)

    async def raw(self, name: str, **kwargs: Any) -> Any:
        return getattr(self.client.with_raw_response, name)(**kwargs)

    async def collect(self, **kwargs: Any) -> list[DataEvent]:
        return list(self.client.iter_data_events(**kwargs))

    def track(self, **kwargs: Any) -> DataEvent:
        return self.client.track(**kwargs)

    async def close(self) -> None:
        self.client.close()


class AsyncApi:
    """The async client behind the same facade."""

    kind = "async"

    def __init__(self, client: AsyncDataEventsClient) -> None:
        self.client = client

    async def call(self, name: str, **kwargs: Any) -> Any:
        return await getattr(self.client, name)(**kwargs)

    async def raw(self, name: str, **kwargs: Any) -> Any:
        return await getattr(self.client.with_raw_response, name)(**kwargs)

    async def collect(self, **kwargs: Any) -> list[DataEvent]:
        return [event async for event in self.client.iter_data_events(**kwargs)]

    def track(self, **kwargs: Any) -> DataEvent:
        return self.client.track(**kwargs)  # a plain method on the async client too

    async def close(self) -> None:
        await self.client.aclose()


API_KINDS = ["sync", "async"]


def make_client(kind: str, **kwargs: Any) -> SyncApi | AsyncApi:
    """A client of the given kind behind the test facade (``close`` is awaitable)."""
    if kind == "sync":
        return SyncApi(DataEventsClient(**kwargs))
    return AsyncApi(AsyncDataEventsClient(**kwargs))


@pytest.fixture(params=API_KINDS)
def api_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def api(api_kind: str, fake: FakeIntercom) -> AsyncIterator[Any]:
    client = make_client(api_kind, token=fake.token, base_url=fake.url)
    yield client
    await client.close()
