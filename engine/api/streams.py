"""Bridging a hijacked client connection and a monitor socket (attach and exec start)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from engine.api.hijack import Hijacked
from engine.containers.detachkeys import Watcher

log = logging.getLogger(__name__)
CHUNK = 64 * 1024


async def pump_output(src: asyncio.StreamReader, conn: Hijacked) -> None:
    while True:
        data = await src.read(CHUNK)
        if not data or not await conn.write(data):
            return


async def pump_stdin(conn: Hijacked, dst: asyncio.StreamWriter | None, keys: Watcher | None) -> bool:
    """Client bytes to the process's stdin; the client's half-close becomes stdin EOF.
    True when the client typed the detach keys (the session ends, the process goes on)."""
    while True:
        data = await conn.reader.read(CHUNK)
        if not data:
            break
        detached = False
        if keys is not None:
            data, detached = keys.feed(data)
        if dst is not None and data:
            dst.write(data)
            await dst.drain()
        if detached:
            return True
    if dst is not None:
        if keys is not None and (held := keys.flush()):
            dst.write(held)
        if dst.can_write_eof():
            with contextlib.suppress(OSError):
                dst.write_eof()
    return False


async def bridge(
    conn: Hijacked,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    stdin: bool,
    detach_keys: bytes | None = None,
) -> bool:
    """Run until the output ends (the process exited), the client goes away or types the detach keys;
    then close both sides. True if the client detached."""
    out_task = asyncio.ensure_future(pump_output(reader, conn))
    watcher = Watcher(detach_keys) if stdin and detach_keys else None
    in_task = asyncio.ensure_future(pump_stdin(conn, writer if stdin else None, watcher))
    gone = asyncio.ensure_future(conn.closed.wait())
    try:
        waiting = [out_task, gone] + ([in_task] if watcher is not None else [])
        while True:
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if in_task not in done:
                return False
            if not in_task.cancelled() and in_task.exception() is None and in_task.result():
                return True
            waiting.remove(in_task)  # stdin ended without detaching: output goes on
    finally:
        for t in (out_task, in_task, gone):
            t.cancel()
        for t in (out_task, in_task, gone):
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                await t
        writer.close()
        conn.close()
