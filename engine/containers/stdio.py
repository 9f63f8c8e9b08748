"""Client side of the monitor's attach protocol (docs/engine-contracts.md): one JSON line naming the
streams, then output as stdcopy frames (or raw with a TTY) and stdin bytes the other way."""

from __future__ import annotations

import asyncio
import json
import struct
from pathlib import Path

CONNECT_TIMEOUT = 5.0


async def connect(
    path: Path, *, stdin: bool, stdout: bool, stderr: bool, timeout: float = CONNECT_TIMEOUT
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to a monitor socket; retries briefly while the monitor is still creating it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            reader, writer = await asyncio.open_unix_connection(str(path), limit=1 << 20)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.02)
    writer.write(json.dumps({"stdin": stdin, "stdout": stdout, "stderr": stderr}).encode() + b"\n")
    await writer.drain()
    return reader, writer


async def read_frames(reader: asyncio.StreamReader, limit: int) -> tuple[bytes, bool]:
    """Read a stdcopy stream to its end, demultiplexed; keep at most `limit` bytes. (data, truncated)."""
    out = bytearray()
    truncated = False
    while True:
        try:
            header = await reader.readexactly(8)
        except asyncio.IncompleteReadError:
            return bytes(out), truncated
        _, size = struct.unpack(">BxxxI", header)
        try:
            payload = await reader.readexactly(size)
        except asyncio.IncompleteReadError as e:
            payload = e.partial
        room = limit - len(out)
        if room > 0:
            out += payload[:room]
        if len(payload) > room:
            truncated = True


def frame(stream: int, payload: bytes) -> bytes:
    """One stdcopy frame: stream (0 stdin, 1 stdout, 2 stderr), three zero bytes, big-endian size."""
    return struct.pack(">BxxxI", stream, len(payload)) + payload
