"""Bridging a hijacked client connection and a monitor socket (attach and exec start)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct

from engine.api.hijack import Hijacked
from engine.containers import stdio
from engine.containers.detachkeys import Watcher

log = logging.getLogger(__name__)
CHUNK = 64 * 1024


async def pump_output(src: asyncio.StreamReader, conn: Hijacked) -> None:
    while True:
        data = await src.read(CHUNK)
        if not data or not await conn.write(data):
            return


def reframe(src: asyncio.StreamReader, *, framed: bool) -> asyncio.StreamReader:
    """The monitor's output in the other framing: raw TTY bytes as stdout frames (`framed`), or stdcopy
    frames as their bare payloads. Ends when `src` ends."""
    out = asyncio.StreamReader(limit=1 << 20)

    async def pump() -> None:
        try:
            while True:
                if framed:
                    data = await src.read(CHUNK)
                    if not data:
                        break
                    out.feed_data(stdio.frame(1, data))
                else:  # as dockerd, a raw stream carries stdout only: stderr has no place in it
                    stream, size = struct.unpack(">BxxxI", await src.readexactly(8))
                    payload = await src.readexactly(size)
                    if stream != 2:
                        out.feed_data(payload)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            out.feed_eof()

    task = asyncio.ensure_future(pump())
    _PUMPS.add(task)
    task.add_done_callback(_PUMPS.discard)
    return out


_PUMPS: set[asyncio.Task[None]] = set()  # reframe's tasks, referenced until done


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
    farewell: bytes = b"",
) -> bool:
    """Run until the output ends (the process exited), the client goes away or types the detach keys;
    then close both sides. True if the client detached (after `farewell` was sent to it)."""
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
                if farewell:
                    await conn.write(farewell)
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
