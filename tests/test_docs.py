"""Every Python example in the README and docs/ runs, against the fake Intercom.

The examples are written as users would write them (token and host from the environment);
``INTERCOM_ACCESS_TOKEN`` and ``INTERCOM_BASE_URL`` point them at a local fake with the users
they mention.
"""

from __future__ import annotations

import ast
import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from intercom_events.testing import FakeIntercom

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)
USERS = ["314159", "42", "1", "2", *(f"user-{n}" for n in range(5)), *map(str, range(10))]
EMAILS = ["a+b@example.com", "ada@example.com"]


def _blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text())


@pytest.mark.parametrize("page", [p for p in PAGES if _blocks(p)], ids=lambda p: p.name)
def test_examples_run(page: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    with FakeIntercom(rate_limit=10_000) as fake:
        for user in dict.fromkeys(USERS):
            fake.add_user(user_id=user)
        for email in EMAILS:
            fake.add_user(email=email)
        monkeypatch.setenv("INTERCOM_ACCESS_TOKEN", fake.token)
        monkeypatch.setenv("INTERCOM_BASE_URL", fake.url)
        namespace: dict[str, Any] = {"__name__": "__docs__"}
        loop = asyncio.new_event_loop()  # one loop per page, as in a notebook
        try:
            for number, source in enumerate(_blocks(page), 1):
                code = compile(
                    source, f"{page.name}[{number}]", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
                )
                before = set(namespace)
                result = eval(code, namespace)  # noqa: S307 - our own documentation
                if asyncio.iscoroutine(result):
                    loop.run_until_complete(result)
                for name in sorted(set(namespace) - before):
                    if name.startswith("test_") and callable(namespace[name]):
                        with FakeIntercom() as fixture:  # an example test: run it as pytest would
                            namespace[name](fake_intercom=fixture)
            if "client" in namespace and hasattr(namespace["client"], "aclose"):
                loop.run_until_complete(namespace["client"].aclose())
        finally:
            loop.close()
