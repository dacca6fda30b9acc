"""A pytest plugin (registered as ``intercom_events``): the ``fake_intercom`` fixture.

It loads in every pytest run of a project that installs intercom-events, so it imports
nothing heavy until a test asks for the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .testing import FakeIntercom


@pytest.fixture
def fake_intercom() -> Iterator[FakeIntercom]:
    """A running fake Intercom on 127.0.0.1: point a client at ``.url`` with ``.token``.

    Register contacts with ``add_user(user_id=..., email=...)``; read what it stored from
    ``.events`` and what it was asked from ``.requests``; inject faults with ``.inject()``.
    """
    from .testing import FakeIntercom

    with FakeIntercom() as fake:
        yield fake
