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


async def bridge(conn: Hijacked, reader: asyncio.StreamReader | None, writer: asyncio.StreamWriter | None,
                 *, stdin: bool, output: asyncio.Future[None] | None = None) -> None:
    """Run until the output ends (process exited) or the client goes away; then close both sides."""
    tasks: list[asyncio.Future[None]] = []
    out_task = output if output is not None else asyncio.ensure_future(pump_output(reader, conn)) \
        if reader is not None else None
    in_task = asyncio.ensure_future(pump_stdin(conn, writer if stdin else None))
    gone = asyncio.ensure_future(conn.closed.wait())
    tasks = [t for t in (out_task, gone) if t is not None]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        for t in (out_task, in_task, gone):
            if t is not None and not t.done():
                t.cancel()
        for t in (out_task, in_task):
            if t is not None:
                with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                    await t
        if writer is not None:
            writer.close()
        conn.close()
