"""The async client's lifecycle: lazy session, loops, cancellation, leaks, caller's session."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading

import aiohttp
import pytest

from intercom_events import AsyncDataEventsClient, DataEventsClient
from intercom_events.testing import FakeIntercom

LEAK_SCRIPT = """
import asyncio, gc
from intercom_events import AsyncDataEventsClient
from intercom_events.testing import FakeIntercom

async def main():
    async with FakeIntercom() as fake:
        fake.add_user(user_id="1")
        client = AsyncDataEventsClient(token=fake.token, base_url=fake.url)
        await client.create_data_event(event_name="e", user_id="1", created_at=1)
        await client.list_data_events(user_id="1")
        {close}
    gc.collect()

asyncio.run(main())
print("done")
"""


@pytest.mark.parametrize("closed", [True, False])
def test_no_unclosed_session_warnings(closed: bool) -> None:
    script = LEAK_SCRIPT.format(close="await client.aclose()" if closed else "pass")
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", script],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert "done" in done.stdout, done.stderr
    # The check can fail: a client that is never closed is reported by aiohttp.
    assert ("Unclosed" in done.stderr) is (not closed), done.stderr


async def test_session_is_made_lazily_in_the_loop_and_closed(fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    async with AsyncDataEventsClient(token=fake.token, base_url=fake.url) as client:
        assert client._executor._session is None
        await client.list_data_events(user_id="1")
        session = client._executor._session
        assert session is not None
        assert session.trust_env is False
    assert session.closed
    with pytest.raises(RuntimeError, match="closed"):
        await client.list_data_events(user_id="1")


async def test_callers_session_is_used_and_never_closed(fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    async with aiohttp.ClientSession(headers={"X-Caller": "yes"}) as session:
        async with AsyncDataEventsClient(
            token=fake.token, base_url=fake.url, session=session
        ) as client:
            await client.list_data_events(user_id="1")
        assert not session.closed
        assert fake.requests[0].headers["X-Caller"] == "yes"


def test_sync_callers_session_is_never_closed(fake: FakeIntercom) -> None:
    import requests
    import requests.adapters

    class RecordingAdapter(requests.adapters.HTTPAdapter):
        closed = False

        def close(self) -> None:
            self.closed = True
            super().close()

    fake.add_user(user_id="1")
    adapter = RecordingAdapter()
    with requests.Session() as session:
        session.mount("http://", adapter)
        session.headers["X-Caller"] = "sync"
        with DataEventsClient(token=fake.token, base_url=fake.url, session=session) as client:
            client.list_data_events(user_id="1")
        assert not adapter.closed
    assert adapter.closed  # the check can fail: closing the session does close it
    assert fake.requests[0].headers["X-Caller"] == "sync"


def test_using_the_client_from_a_second_loop_is_a_clear_error(fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    client = AsyncDataEventsClient(token=fake.token, base_url=fake.url)

    async def first() -> None:
        await client.list_data_events(user_id="1")

    async def second() -> None:
        with pytest.raises(RuntimeError, match="event loop it was first used in"):
            await client.list_data_events(user_id="1")

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(first())
        asyncio.run(second())
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()
    assert len(fake.requests) == 1


async def test_cancelling_mid_request_leaves_the_client_usable(fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    fake.inject("slow", first=1, delay=1.0)
    async with AsyncDataEventsClient(token=fake.token, base_url=fake.url) as client:
        task = asyncio.create_task(client.list_data_events(user_id="1"))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        page = await client.list_data_events(user_id="1")
    assert page.events == ()
    assert len(fake.requests) == 2


def test_sync_client_is_shared_by_threads(fake: FakeIntercom) -> None:
    fake.add_user(user_id="1")
    errors: list[BaseException] = []
    with DataEventsClient(token=fake.token, base_url=fake.url) as client:

        def send(n: int) -> None:
            try:
                for i in range(5):
                    client.create_data_event(event_name="e", user_id="1", created_at=n * 10 + i)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert len(fake.events) == 20


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_proxy_from_the_environment_is_used(kind: str) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio, os
        from intercom_events import AsyncDataEventsClient, DataEventsClient
        from intercom_events.testing import FakeIntercom

        with FakeIntercom() as proxy:
            os.environ["HTTP_PROXY"] = proxy.url
            os.environ.pop("NO_PROXY", None); os.environ.pop("no_proxy", None)
            kw = dict(token=proxy.token, base_url="http://intercom.invalid",
                      allow_insecure_http=True, max_retries=0)
            if {kind!r} == "sync":
                with DataEventsClient(**kw) as c:
                    try: c.list_data_events(user_id="1")
                    except Exception as e: print(type(e).__name__)
            else:
                async def main():
                    async with AsyncDataEventsClient(**kw) as c:
                        try: await c.list_data_events(user_id="1")
                        except Exception as e: print(type(e).__name__)
                asyncio.run(main())
            print([(r.method, r.path, r.headers.get("Host")) for r in proxy.requests])
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert "NotFoundError" in done.stdout, done.stderr
    assert "('GET', '/events', 'intercom.invalid')" in done.stdout, done.stdout + done.stderr
