"""The executors: bytes on the wire and back, and sleeping between attempts.

``requests_executor`` (sync) and ``aiohttp_executor`` (async) turn a core ``Call`` into an
HTTP exchange and map their library's exceptions to the SDK's; ``gate`` is the in-process
rate-limit gate both call. Every decision is the core's.

May import: ``_core``, ``models``, ``errors``, and its own HTTP library (lazily).
"""
