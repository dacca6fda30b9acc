"""What a forked child must not share with its parent: connections, loops, held locks.

Objects that hold such state register here; in a child process each one's ``_after_fork``
runs before anything else, so the child makes its own sessions and locks (``os.fork()``
copies a lock another thread held, locked for ever) and never touches the parent's sockets.
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol

__all__ = ["renew_after_fork"]


class _Renewable(Protocol):
    def _after_fork(self) -> None: ...


_holders: weakref.WeakSet[_Renewable] = weakref.WeakSet()


def renew_after_fork(holder: _Renewable) -> None:
    """Call ``holder._after_fork()`` in every child this process forks from now on."""
    _holders.add(holder)


def _in_child() -> None:
    for holder in list(_holders):
        holder._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_in_child)
