"""GET /containers/{id}/attach/ws: attach over a WebSocket, with Docker's semantics.

Output goes out as binary messages (text before API 1.28), never multiplexed: stdout and stderr are
interleaved as they come. Messages from the client are written to stdin. stdin/stdout/stderr are read
from the query from API 1.42 on; before that all three are attached. `logs` replays the log first,
`stream` follows the live output. The session ends when the output does, or on the client's close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct

from engine.api import web
from engine.api.backends import Route, backends
from engine.api.container_io import StartHold, wait_for_start
from engine.api.hijack import take_over
from engine.api.params import qbool, qstr
from engine.api.streams import bridge
from engine.api.version import API_VERSION, parse_version
from engine.api.web import websocket as ws
from engine.api.web.server import Connection
from engine.containers import detachkeys, logs, stdio
from engine.errors import EngineError, InvalidParameter

log = logging.getLogger(__name__)


class _Demux:
    """stdcopy frames (the monitor's output without a TTY) -> their payloads, across chunk boundaries."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> bytes:
        self._buf += data
        out = bytearray()
        while len(self._buf) >= 8:
            (size,) = struct.unpack(">4xI", self._buf[:8])
            if len(self._buf) < 8 + size:
                break
            out += self._buf[8 : 8 + size]
            del self._buf[: 8 + size]
        return bytes(out)


class WebSocketConn:
    """The attach session's view of the client, shaped as engine.api.hijack.Hijacked so `bridge` can
    drive it: `reader` yields the client's message bytes, `write` sends output as messages."""

    def __init__(self, conn: Connection, response: web.StreamResponse, opcode: int, demux: bool) -> None:
        self._conn = conn
        self.response = response
        self._opcode = opcode
        self._demux = _Demux() if demux else None
        self.reader = asyncio.StreamReader()
        self.closed = asyncio.Event()  # the client closed (or broke) the WebSocket, or the socket is gone
        self._sent_close = False
        self._frames = asyncio.ensure_future(self._read_frames())

    async def _read_frames(self) -> None:
        code = ws.NORMAL_CLOSURE
        try:
            while True:
                frame = await ws.read_frame(self._conn.reader)
                if frame.opcode in (ws.TEXT, ws.BINARY, ws.CONTINUATION):
                    if frame.payload:
                        self.reader.feed_data(frame.payload)
                elif frame.opcode == ws.PING:
                    await self._conn.send(ws.encode_frame(ws.PONG, frame.payload))
                elif frame.opcode == ws.CLOSE:
                    if len(frame.payload) >= 2:
                        (code,) = struct.unpack("!H", frame.payload[:2])
                    break
        except ws.ProtocolError as e:
            log.info("websocket protocol error error=%s", e)
            code = e.code
        except (asyncio.IncompleteReadError, ConnectionError):
            code = 0
        finally:
            self.reader.feed_eof()
            if code:
                await self._send_close(code if code in (ws.PROTOCOL_ERROR, ws.TOO_BIG) else ws.NORMAL_CLOSURE)
            self.closed.set()

    async def _send_close(self, code: int) -> None:
        if self._sent_close:
            return
        self._sent_close = True
        with contextlib.suppress(ConnectionError):
            await self._conn.send(ws.encode_frame(ws.CLOSE, ws.close_payload(code)))

    async def write(self, data: bytes) -> bool:
        """Send the monitor's output as one message; False once the client is gone or closing."""
        if self._demux is not None:
            data = self._demux.feed(data)
        return await self.send(data)

    async def send(self, data: bytes) -> bool:
        """Send bytes as they are as one message."""
        if self.closed.is_set() or self._sent_close:
            return False
        if not data:
            return True
        try:
            await self._conn.send(ws.encode_frame(self._opcode, data))
        except ConnectionError:
            return False
        return True

    async def finish(self) -> None:
        """End the session: our close frame, a moment for the client's answer, then the socket."""
        await self._send_close(ws.NORMAL_CLOSURE)
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._frames), 1.0)
        self._frames.cancel()
        self._conn.close()

    def close(self) -> None:
        """Synchronous close (bridge's cleanup): the close frame goes out in `finish`."""


def _version(request: web.Request) -> tuple[int, int]:
    v = parse_version(request.match_info.get("version") or API_VERSION)
    return v if v is not None else parse_version(API_VERSION)  # type: ignore[return-value]


async def attach_ws(request: web.Request) -> web.StreamResponse:
    svc = backends(request).containers
    c = svc.get(request.match_info["id"])
    keys = detachkeys.parse(qstr(request, "detachKeys"))
    try:
        headers = ws.handshake(request.method, request.headers)
    except ws.HandshakeError as e:
        raise InvalidParameter(str(e)) from None
    version = _version(request)
    stdin = stdout = stderr = True
    if version >= (1, 42):
        stdin, stdout, stderr = qbool(request, "stdin"), qbool(request, "stdout"), qbool(request, "stderr")
    stream, want_logs = qbool(request, "stream"), qbool(request, "logs")
    tty = bool(c.config.get("Tty"))
    opcode = ws.BINARY if version >= (1, 28) else ws.TEXT
    started = svc.started_event(c.id) if c.state.status not in ("running", "paused") else None
    hold = StartHold(svc, c.id, wanted=stream and started is not None)
    hijacked = take_over(request, 101, "Switching Protocols", headers)
    conn = WebSocketConn(request.connection, hijacked.response, opcode, demux=not tty)
    svc.event_publish(c, "attach")
    try:
        if want_logs and (stdout or stderr):
            existing = logs.ExistingLog(svc.log_path(c.id), logs.LogOptions(stdout=stdout, stderr=stderr))
            while (batch := await asyncio.to_thread(existing.next_batch)) is not None:
                await conn.send(b"".join(e.encode(True, False) for e in batch))  # payloads, no frames
        if stream:
            live = started is None or (
                c.state.status in ("created", "restarting")
                and await wait_for_start(svc, c.id, conn, started, hold)  # type: ignore[arg-type]
            )
            if live:
                reader, writer = await stdio.connect(
                    svc.runtime(c).attach_path(c.id), stdin=stdin, stdout=stdout, stderr=stderr
                )
                if await bridge(conn, reader, writer, stdin=stdin, detach_keys=keys):  # type: ignore[arg-type]
                    svc.event_publish(c, "detach")
    except (EngineError, OSError) as e:
        log.info("websocket attach ended container=%s error=%s", c.id[:12], e)
    finally:
        hold.release()
        await conn.finish()
    return hijacked.response


def routes() -> list[Route]:
    return [("GET", "/containers/{id}/attach/ws", attach_ws)]
