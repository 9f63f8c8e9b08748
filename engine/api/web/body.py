"""A request body read from the connection as it arrives: by Content-Length or chunked (RFC 9112 7.1).

Uploads (docker load, import, build contexts, archive PUT) can be gigabytes, so nothing is buffered beyond
what the caller asks for; the connection's reader pauses the socket when its buffer is full.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from engine.api.web.parser import BadRequest

MAX_CHUNK_LINE = 4096
MAX_CHUNK_DIGITS = 10  # hex digits of one chunk's size: up to 1 TiB, more is no upload, only an attack
_HEX = frozenset(bytes([c]) for c in b"0123456789abcdefABCDEF")


class Body:
    def __init__(self, reader: asyncio.StreamReader, length: int | None, chunked: bool) -> None:
        self._reader = reader
        self._chunked = chunked
        self._left = 0 if chunked else (length or 0)  # bytes left in the body (or in the current chunk)
        self._done = not chunked and not length
        self._after_data = False  # a chunk's data was read: its CRLF comes before the next size line

    def at_eof(self) -> bool:
        return self._done

    async def read(self, n: int = -1) -> bytes:
        """Up to `n` bytes (all that is left with n < 0); b"" at the end of the body."""
        if n < 0:
            parts = []
            while data := await self.read(1 << 20):
                parts.append(data)
            return b"".join(parts)
        while not self._done:
            if self._left == 0:
                await self._next_chunk()  # only when chunked: a Content-Length body is done at 0
                continue
            data = await self._reader.read(min(n, self._left))
            if not data:
                raise ConnectionResetError("client closed the connection inside the request body")
            self._left -= len(data)
            if self._left == 0 and not self._chunked:
                self._done = True
            return data
        return b""

    async def iter_chunked(self, n: int) -> AsyncIterator[bytes]:
        while data := await self.read(n):
            yield data

    async def drain(self) -> None:
        """Skip what the handler left unread, so the next request on the connection starts clean."""
        while await self.read(1 << 16):
            pass

    async def _next_chunk(self) -> None:
        # the CRLF that ends a chunk's data
        if self._after_data and await self._exactly(2) != b"\r\n":
            raise BadRequest("chunk data not followed by CRLF")
        size = await self._size_line()
        if size == 0:
            while await self._line():  # trailer fields, ignored
                pass
            self._done = True
            return
        self._left = size
        self._after_data = True

    async def _size_line(self) -> int:
        """`1*HEXDIG [; extensions] CRLF`, judged byte by byte as it arrives: a size that is not plain hex
        or too large is refused at once, not after the client has sent (or stopped sending) the rest."""
        digits = bytearray()
        while True:
            c = await self._exactly(1)
            if c in _HEX:
                digits += c
                if len(digits) > MAX_CHUNK_DIGITS:
                    raise BadRequest("chunk size too large")
                continue
            if not digits:
                raise BadRequest(f"bad chunk size {c!r}")
            if c == b"\r":
                if await self._exactly(1) != b"\n":
                    raise BadRequest("bad chunk size line ending")
            elif c == b";":  # chunk extensions, ignored
                await self._line()
            else:
                raise BadRequest(f"bad chunk size {bytes(digits[:20]) + c!r}")
            return int(digits, 16)

    async def _exactly(self, n: int) -> bytes:
        try:
            return await self._reader.readexactly(n)
        except asyncio.IncompleteReadError:
            raise ConnectionResetError("client closed the connection inside a chunked body") from None

    async def _line(self) -> bytes:
        """A trailer field or the rest of a chunk extension: bounded, CRLF-terminated."""
        line = bytearray()
        while not line.endswith(b"\r\n"):
            line += await self._exactly(1)
            if len(line) > MAX_CHUNK_LINE:
                raise BadRequest("chunk header line too long")
        return bytes(line[:-2])
