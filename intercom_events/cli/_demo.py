"""``intercom-events demo``: the SDK against the bundled fake Intercom, no token, no network."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from ..client import DataEventsClient
from ..models import Metadata, MonetaryAmount, RichLink
from ._output import table

USERS = {
    "ada": ["signed-up", "placed-order", "placed-order", "read-article", "placed-order"],
    "grace": ["signed-up", "invited-friend", "invited-friend"],
    "linus": ["signed-up", "placed-order", "read-article", "upgraded-plan"],
}


def _week_ago() -> int:
    """Midnight (UTC) a week ago: Intercom lists only the last 90 days' events."""
    return (int(time.time()) // 86_400 - 7) * 86_400


def _metadata(name: str, n: int) -> Metadata:
    if name == "placed-order":
        return {"order_id": 1000 + n, "price": MonetaryAmount(1999 + n * 500, "eur")}
    if name == "read-article":
        return {"article": RichLink("https://example.org/guide", "The guide")}
    return {"source": "demo"}


def add_commands(commands: Any) -> None:
    """The ``demo`` sub-parser."""
    commands.add_parser(
        "demo", help="run the SDK against the bundled fake Intercom (no token, no network)"
    )


def run_demo(out: TextIO = sys.stdout) -> int:
    """Send events for a few users, page through them, print a summary table; exit code."""
    # asyncio and aiohttp load for the demo only, not with every command's parser.
    import asyncio

    from ..testing import FakeIntercom

    start = _week_ago()
    with FakeIntercom() as fake:
        for user in USERS:
            fake.add_user(user_id=user, email=f"{user}@example.com")
        with DataEventsClient(token=fake.token, base_url=fake.url) as client:
            print(f"Fake Intercom at {fake.url} (a local server: no token, no network)\n", file=out)
            sent = 0
            for user, names in USERS.items():
                for n, name in enumerate(names):
                    client.create_data_event(
                        event_name=name,
                        user_id=user,
                        created_at=start + 3600 * n,
                        metadata=_metadata(name, n),
                    )
                    sent += 1
            again = client.create_data_event(
                event_name="signed-up", user_id="ada", created_at=start, metadata={"source": "demo"}
            )
            print(f"sync client: sent {sent + 1} events ({again.event_name!r} twice)", file=out)
            print(f"Intercom stored {len(fake.events)}: the repeat was de-duplicated", file=out)
            rows = []
            for user in USERS:
                pages_before = sum(r.method == "GET" for r in fake.requests)
                listed = list(client.iter_data_events(user_id=user, per_page=2))
                pages = sum(r.method == "GET" for r in fake.requests) - pages_before
                summary = client.list_data_events(user_id=user, summary=True)
                counts = ", ".join(f"{item.name} x{item.count}" for item in summary.events)
                rows.append((user, str(len(listed)), str(pages), counts))
            rows.append(asyncio.run(_async_part(fake.token, fake.url, out, start)))
    print(file=out)
    print(table(("user", "events", "pages", "summary (name x count)"), rows), file=out)
    return 0


async def _async_part(token: str, url: str, out: TextIO, start: int) -> tuple[str, str, str, str]:
    """The same API from asyncio: ten events in flight at once, then a summary."""
    import asyncio

    from ..aio_client import AsyncDataEventsClient

    async with AsyncDataEventsClient(token=token, base_url=url) as client:
        await asyncio.gather(
            *(
                client.create_data_event(
                    event_name="viewed-page", email="ada@example.com", created_at=start + n
                )
                for n in range(10)
            )
        )
        print("async client: sent 10 events concurrently for ada@example.com", file=out)
        listed = [e async for e in client.iter_data_events(email="ada@example.com", per_page=50)]
        summary = await client.list_data_events(email="ada@example.com", summary=True)
    counts = ", ".join(f"{item.name} x{item.count}" for item in summary.events)
    return ("ada (async)", str(len(listed)), "1", counts)
