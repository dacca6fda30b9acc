"""Reading a response body as it arrives: decompressed here, and never more than a cap.

Executors feed the raw bytes from the wire (their HTTP library's own decompression off) and
stop reading as soon as :meth:`BodyReader.feed` says so, so a gzip bomb or an endless body
cannot fill memory. Both executors share the rule, and the same Accept-Encoding is sent.
"""

from __future__ import annotations

import zlib

__all__ = ["ACCEPT_ENCODING", "MAX_BODY", "READ_SIZE", "BodyReader"]

MAX_BODY = 16 * 2**20
"""The most bytes of a (decompressed) response body that are kept."""
ACCEPT_ENCODING = "gzip, deflate"
"""What every request accepts: the encodings :class:`BodyReader` can decode."""
READ_SIZE = 2**16
"""Bytes an executor reads from the wire at a time, and decodes at a time."""


class BodyReader:
    """Collects a body up to ``limit`` bytes, decoding ``gzip`` or ``deflate`` on the way.

    :attr:`problem` is None for a whole body, else what is wrong with it (too large, or not
    the encoding it claims); the bytes kept are then what could be read.
    """

    def __init__(self, content_encoding: str | None, *, limit: int = MAX_BODY) -> None:
        encoding = (content_encoding or "").strip().lower()
        # wbits 47 reads a gzip or a zlib header; raw deflate streams are not expected.
        self._decoder = (
            zlib.decompressobj(47) if encoding in ("gzip", "x-gzip", "deflate") else None
        )
        self._encoding = encoding
        self._limit = limit
        self._parts: list[bytes] = []
        self._size = 0
        self.problem: str | None = None

    def feed(self, chunk: bytes) -> bool:
        """Add bytes from the wire; False when reading should stop (the body is unusable)."""
        if self.problem is not None:
            return False
        if self._decoder is None:
            return self._keep(chunk)
        try:
            while chunk:
                room = self._limit - self._size + 1  # one byte past the limit says "too large"
                data = self._decoder.decompress(chunk, min(room, READ_SIZE))
                if not self._keep(data):
                    return False
                chunk = self._decoder.unconsumed_tail
        except zlib.error:
            self.problem = f"is not valid {self._encoding}"
            return False
        return True

    def _keep(self, data: bytes) -> bool:
        if self._size + len(data) > self._limit:
            self._parts.append(data[: self._limit - self._size])
            self._size = self._limit
            self.problem = f"is larger than {self._limit // 2**20} MiB"
            return False
        self._parts.append(data)
        self._size += len(data)
        return True

    def body(self) -> bytes:
        """The bytes kept (all of the body when :attr:`problem` is None)."""
        if self._decoder is not None and self.problem is None:
            try:
                self._keep(self._decoder.flush())
            except zlib.error:
                self.problem = f"is not valid {self._encoding}"
        return b"".join(self._parts)
