"""WebSocket (RFC 6455) for the daemon: the opening handshake and the framing, over a connection the
handler took over (see engine.api.hijack.take_over).

Only what a server needs: client frames must be masked (5.3), ours are not; fragmented messages are
delivered fragment by fragment (the attach stream is bytes, not messages); pings are answered; a close
frame is answered and ends the session.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import struct
from dataclasses import dataclass

from engine.api.web.messages import Headers, RequestHeaders

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 1.3

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
NORMAL_CLOSURE, PROTOCOL_ERROR, TOO_BIG = 1000, 1002, 1009
MAX_FRAME = 16 << 20  # a stdin write bigger than this is not a terminal's


class HandshakeError(Exception):
    pass


class ProtocolError(Exception):
    def __init__(self, message: str, code: int = PROTOCOL_ERROR) -> None:
        super().__init__(message)
        self.code = code


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def handshake(method: str, headers: RequestHeaders) -> Headers:
    """Check the client's opening handshake (4.2.1); the headers of our 101 answer (4.2.2)."""
    if method != "GET":
        raise HandshakeError("websocket handshake must be a GET")
    if "websocket" not in headers.get("upgrade", "").lower():
        raise HandshakeError("missing Upgrade: websocket")
    if "upgrade" not in headers.get("connection", "").lower():
        raise HandshakeError("missing Connection: Upgrade")
    if headers.get("sec-websocket-version", "") != "13":
        raise HandshakeError("unsupported Sec-WebSocket-Version (13 is)")
    key = headers.get("sec-websocket-key", "")
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            raise ValueError
    except ValueError:
        raise HandshakeError("bad Sec-WebSocket-Key") from None
    return Headers({"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Accept": accept_key(key)})


def encode_frame(opcode: int, payload: bytes = b"", *, fin: bool = True) -> bytes:
    """A server frame: never masked."""
    first = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", first, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", first, 126, n)
    else:
        head = struct.pack("!BBQ", first, 127, n)
    return head + payload


def close_payload(code: int, reason: str = "") -> bytes:
    return struct.pack("!H", code) + reason.encode()[:123]


@dataclass(frozen=True)
class Frame:
    """One WebSocket frame (attach over /containers/{id}/attach/ws)."""

    fin: bool
    opcode: int
    payload: bytes


def _unmask(payload: bytes, mask: bytes) -> bytes:
    if not payload:
        return payload
    key = int.from_bytes((mask * (len(payload) // 4 + 1))[: len(payload)], "big")
    return (int.from_bytes(payload, "big") ^ key).to_bytes(len(payload), "big")


async def read_frame(reader: asyncio.StreamReader) -> Frame:
    """The next client frame; IncompleteReadError when the connection ends, ProtocolError on bad framing."""
    b0, b1 = await reader.readexactly(2)
    if b0 & 0x70:
        raise ProtocolError("reserved bits set without an extension")
    fin, opcode, masked, n = bool(b0 & 0x80), b0 & 0x0F, bool(b1 & 0x80), b1 & 0x7F
    if opcode not in (CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG):
        raise ProtocolError(f"unknown opcode {opcode}")
    if opcode >= CLOSE and (not fin or n > 125):
        raise ProtocolError("control frames must be whole and at most 125 bytes")
    if not masked:
        raise ProtocolError("client frames must be masked")
    if n == 126:
        (n,) = struct.unpack("!H", await reader.readexactly(2))
    elif n == 127:
        (n,) = struct.unpack("!Q", await reader.readexactly(8))
    if n > MAX_FRAME:
        raise ProtocolError("frame too big", TOO_BIG)
    mask = await reader.readexactly(4)
    return Frame(fin, opcode, _unmask(await reader.readexactly(n), mask))
