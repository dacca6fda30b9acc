"""Tracking: outboxes (memory, SQLite), the lease that elects one sender per file, the books
a client keeps of its tracked events, and the two senders (a thread pool, asyncio tasks).

May import ``_core``, ``_transport``, ``models`` and ``errors``; never a client, the CLI or
the fake. Every decision about an outcome is the core's (``_core.delivery``).
"""
