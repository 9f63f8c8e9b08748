"""Docker's connection hijack for attach and exec start.

With `Upgrade: tcp` the answer is `101 UPGRADED` and the connection becomes a raw bidirectional byte
stream; without it (docker-py's non-socket exec start) the answer is a `200` whose body is the raw
stream until the connection closes. Either way no chunked encoding: clients read the socket directly.

The connection (engine.api.web.server) keeps our sending side open when the client half-closes: that
is stdin EOF, and output must go on.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import socket
import struct
import termios

from engine.api import web
from engine.api.web.server import Connection

log = logging.getLogger(__name__)

HEAD_READ_WAIT = 0.2  # seconds the stream waits at most for the client to read the hijack's head
RAW_STREAM = "application/vnd.docker.raw-stream"
MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream"


class Hijacked:
    """The client connection after the hijack: `reader` has the bytes after the request head."""

    def __init__(self, conn: Connection, response: web.StreamResponse) -> None:
        self._conn = conn
        self.response = response
        self.reader: asyncio.StreamReader = conn.reader

    @property
    def closed(self) -> asyncio.Event:
        return self._conn.closed

    async def write(self, data: bytes) -> bool:
        """Send bytes; False once the client is gone."""
        try:
            await self._conn.send(data)
        except ConnectionError:
            return False
        return not self._conn.closed.is_set()

    def close(self) -> None:
        self._conn.close()


def wants_upgrade(request: web.Request) -> bool:
    conn = request.headers.get("connection", "").lower()
    return "upgrade" in conn and request.headers.get("upgrade", "").lower() == "tcp"


def take_over(request: web.Request, status: int, reason: str, headers: web.Headers) -> Hijacked:
    """Send the final head and hand the raw connection to the handler (also used by the websocket)."""
    resp = web.StreamResponse(status=status, reason=reason)
    resp.hijacked = True
    request.connection.hijack_head(status, reason, headers)
    return Hijacked(request.connection, resp)


async def hijack(request: web.Request, *, multiplexed: bool) -> Hijacked:
    """Answer the request and take over its connection. The request body must already be read.
    `multiplexed`: the stream carries stdcopy frames (no TTY); said so when the client asks (API 1.42+)."""
    upgrade = wants_upgrade(request)
    content_type = (
        MULTIPLEXED_STREAM
        if multiplexed and request.headers.get("accept") == MULTIPLEXED_STREAM
        else RAW_STREAM
    )
    headers = web.Headers({"Content-Type": content_type})
    if upgrade:
        headers["Connection"] = "Upgrade"
        headers["Upgrade"] = "tcp"
    else:
        headers["Connection"] = "close"
    hijacked = take_over(request, 101 if upgrade else 200, "UPGRADED" if upgrade else "OK", headers)
    await _until_head_read(request.connection)
    return hijacked


async def _until_head_read(conn: Connection) -> None:
    """Hold the stream back until the client has read the response head (bounded wait).

    docker-py reads the head through http.client's buffered reader, then reads the raw socket under it:
    stream bytes that arrived together with the head stay in that buffer and are lost. Output that is
    ready at once (an exec's held output) makes that likely. On a Unix socket, TIOCOUTQ counts the bytes
    the peer has not read yet, so waiting for zero separates the head from the stream."""
    transport = conn.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if transport is None or sock is None or sock.family != socket.AF_UNIX:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HEAD_READ_WAIT
    while not transport.is_closing() and loop.time() < deadline:
        if not transport.get_write_buffer_size() and not _unread(sock.fileno()):
            return
        await asyncio.sleep(0.0005)


def _unread(fd: int) -> int:
    try:
        return int(struct.unpack("i", fcntl.ioctl(fd, termios.TIOCOUTQ, b"\0\0\0\0"))[0])
    except (OSError, ValueError):  # ValueError: the client went away and the transport closed its socket
        return 0
