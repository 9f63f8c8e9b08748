"""Docker's connection hijack for attach and exec start.

With `Upgrade: tcp` the answer is `101 UPGRADED` and the connection becomes a raw bidirectional byte
stream; without it (docker-py's non-socket exec start) the answer is a `200` whose body is the raw
stream until the connection closes. Either way no chunked encoding: clients read the socket directly.

aiohttp writes the status line and headers; then we take the transport over with our own protocol,
because the client's half-close (stdin EOF) must not close our sending side.
"""

from __future__ import annotations

import asyncio
import logging
import select
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

RAW_STREAM = "application/vnd.docker.raw-stream"
MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream"


class _RawResponse(web.StreamResponse):
    """A response whose body is written as is: no Content-Length, no chunking."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(status=status, reason=reason)
        self._length_check = False


class _RawProtocol(asyncio.Protocol):
    def __init__(self, transport: asyncio.Transport, tail: bytes, previous: asyncio.BaseProtocol) -> None:
        self.transport = transport
        self._previous = previous  # aiohttp's; told when the connection ends so its server forgets it
        self.reader = asyncio.StreamReader()
        self.closed = asyncio.Event()
        self._can_write = asyncio.Event()
        self._can_write.set()
        if tail:
            self.reader.feed_data(tail)

    def data_received(self, data: bytes) -> None:
        self.reader.feed_data(data)

    def eof_received(self) -> bool:
        self.reader.feed_eof()
        # A half-close is stdin EOF: output must go on. A full close (the peer shut down both ways, POLLHUP
        # on a unix socket) means the client is gone: let the transport close, which ends the session.
        return not _peer_gone(self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.reader.feed_eof()
        self.closed.set()
        self._can_write.set()
        self._previous.connection_lost(exc)

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    async def drain(self) -> None:
        await self._can_write.wait()


def _peer_gone(transport: asyncio.Transport) -> bool:
    sock = transport.get_extra_info("socket")
    if sock is None:
        return False
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLHUP)
    return any(ev & select.POLLHUP for _, ev in poller.poll(0))


class Hijacked:
    """The client connection after the hijack."""

    def __init__(self, proto: _RawProtocol, response: web.StreamResponse) -> None:
        self._proto = proto
        self.response = response
        self.reader = proto.reader

    @property
    def closed(self) -> asyncio.Event:
        return self._proto.closed

    async def write(self, data: bytes) -> bool:
        """Send bytes; False once the client is gone."""
        if self._proto.closed.is_set() or self._proto.transport.is_closing():
            return False
        self._proto.transport.write(data)
        await self._proto.drain()
        return not self._proto.closed.is_set()

    def close(self) -> None:
        if not self._proto.transport.is_closing():
            self._proto.transport.close()


def wants_upgrade(request: web.Request) -> bool:
    conn = request.headers.get("Connection", "").lower()
    return "upgrade" in conn and request.headers.get("Upgrade", "").lower() == "tcp"


async def hijack(request: web.Request, *, multiplexed: bool) -> Hijacked:
    """Answer the request and take over its connection. The request body must already be read.
    `multiplexed`: the stream carries stdcopy frames (no TTY); said so when the client asks (API 1.42+)."""
    upgrade = wants_upgrade(request)
    resp = _RawResponse(101, "UPGRADED") if upgrade else _RawResponse(200, "OK")
    content_type = (
        MULTIPLEXED_STREAM
        if multiplexed and request.headers.get("Accept") == MULTIPLEXED_STREAM
        else RAW_STREAM
    )
    resp.headers["Content-Type"] = content_type
    if upgrade:
        resp.headers["Connection"] = "Upgrade"
        resp.headers["Upgrade"] = "tcp"
    resp.force_close()
    await resp.prepare(request)
    transport = request.transport
    if transport is None:
        raise ConnectionResetError("client went away before the hijack")
    protocol: Any = request.protocol
    tail = b""
    if upgrade:
        tail = bytes(getattr(protocol, "_message_tail", b"") or b"")
        if tail:
            protocol._message_tail = b""
    proto = _RawProtocol(transport, tail, protocol)  # type: ignore[arg-type]
    transport.set_protocol(proto)
    return Hijacked(proto, resp)
