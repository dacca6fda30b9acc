"""Rate gates whose window lives outside the process (Redis), shared by a fleet.

May import ``_core``, ``_transport.gate`` (the in-process fallback) and ``models``; never a
client, the CLI or the fake. ``redis`` itself is imported only when a gate is made.
"""
