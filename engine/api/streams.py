"""Bridging a hijacked client connection and a monitor socket (attach and exec start)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from engine.api.hijack import Hijacked

log = logging.getLogger(__name__)
CHUNK = 64 * 1024


async def pump_output(src: asyncio.StreamReader, conn: Hijacked) -> None:
    while True:
        data = await src.read(CHUNK)
        if not data or not await conn.write(data):
            return


async def pump_stdin(conn: Hijacked, dst: asyncio.StreamWriter | None) -> None:
    """Client bytes to the process's stdin; the client's half-close becomes stdin EOF."""
    while True:
        data = await conn.reader.read(CHUNK)
        if not data:
            break
        if dst is not None:
            dst.write(data)
            await dst.drain()
    if dst is not None and dst.can_write_eof():
        with contextlib.suppress(OSError):
            dst.write_eof()


async def bridge(
    conn: Hijacked, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, stdin: bool
) -> None:
    """Run until the output ends (the process exited) or the client goes away; then close both sides."""
    out_task = asyncio.ensure_future(pump_output(reader, conn))
    in_task = asyncio.ensure_future(pump_stdin(conn, writer if stdin else None))
    gone = asyncio.ensure_future(conn.closed.wait())
    try:
        await asyncio.wait([out_task, gone], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (out_task, in_task, gone):
            t.cancel()
        for t in (out_task, in_task, gone):
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                await t
        writer.close()
        conn.close()
