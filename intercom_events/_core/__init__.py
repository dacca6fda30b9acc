"""The sans-I/O core: every rule of the SDK, and no I/O.

Arguments are validated and built into :class:`~intercom_events._core.spec.RequestSpec`s
(``operations``), the retry decision is a pure function (``retry``), and responses are read
into models or typed errors (``response``, ``converter``). :class:`~._core.calls.Attempts`
is the small state machine an executor's loop drives.

May import: itself, ``models``, ``errors``, ``_version``, the standard library, attrs and
cattrs. Never an HTTP library, asyncio, threading, a client, the CLI or the fake.
"""
