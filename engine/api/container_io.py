"""Container I/O routes: logs, attach (hijacked), top, stats, archive."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import Any

from engine.api import web
from engine.api.backends import Containers, Route, backends
from engine.api.hijack import MULTIPLEXED_STREAM, RAW_STREAM, Hijacked, hijack
from engine.api.params import json_response, qbool, qstr, timestamp_ns
from engine.api.streams import bridge
from engine.containers import detachkeys, logs, stdio
from engine.containers.model import ZERO_TIME
from engine.errors import EngineError, InvalidParameter, NotFound

log = logging.getLogger(__name__)

STATS_INTERVAL = 1.0


def _id(request: web.Request) -> str:
    return request.match_info["id"]


def _log_options(request: web.Request) -> logs.LogOptions:
    stdout, stderr = qbool(request, "stdout"), qbool(request, "stderr")
    if not (stdout or stderr):
        raise InvalidParameter("Bad parameters: you must choose at least one stream")
    raw_tail = qstr(request, "tail", "all")
    if raw_tail in ("", "all"):
        tail = None
    else:
        try:
            tail = int(raw_tail)
        except ValueError:
            raise InvalidParameter(f"invalid value for tail: {raw_tail!r}") from None
        tail = None if tail < 0 else tail
    since = timestamp_ns(qstr(request, "since"), "since")
    until = timestamp_ns(qstr(request, "until"), "until")
    return logs.LogOptions(
        stdout=stdout,
        stderr=stderr,
        since=(since or 0) / 1e9,
        until=(until or 0) / 1e9,
        tail=tail,
        timestamps=qbool(request, "timestamps"),
        follow=qbool(request, "follow"),
    )


async def container_logs(request: web.Request) -> web.StreamResponse:
    svc = backends(request).containers
    c = svc.get(_id(request))
    if c.host_config.get("LogConfig", {}).get("Type") == "none":
        raise InvalidParameter("configured logging driver does not support reading")
    opts = _log_options(request)
    tty = bool(c.config.get("Tty"))
    path = svc.log_path(c.id)
    existing = logs.ExistingLog(path, opts)
    resp = web.StreamResponse(headers={"Content-Type": RAW_STREAM if tty else MULTIPLEXED_STREAM})
    await resp.prepare(request)

    def running() -> bool:
        cur = svc.store.current(c.id)
        return cur is not None and cur.state.status in ("running", "paused", "restarting")

    try:
        while (batch := await asyncio.to_thread(existing.next_batch)) is not None:
            await resp.write(b"".join(e.encode(tty, opts.timestamps) for e in batch))
        if opts.follow:
            # even when the container has just exited: follow reads once more, so lines the monitor
            # wrote between our first read and the exit are not lost
            async for e in logs.follow(path, opts, existing.end, running):
                await resp.write(e.encode(tty, opts.timestamps))
        await resp.write_eof()
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return resp


async def attach(request: web.Request) -> web.StreamResponse:
    svc = backends(request).containers
    c = svc.get(_id(request))
    stream, want_logs = qbool(request, "stream"), qbool(request, "logs")
    stdin, stdout, stderr = qbool(request, "stdin"), qbool(request, "stdout"), qbool(request, "stderr")
    keys = detachkeys.parse(qstr(request, "detachKeys"))  # a bad spec is a 400, before the hijack
    tty = bool(c.config.get("Tty"))
    await request.read()
    started = svc.started_event(c.id) if c.state.status not in ("running", "paused") else None
    hold = StartHold(svc, c.id, wanted=stream and started is not None)
    try:
        conn = await hijack(request, multiplexed=not tty)
    except BaseException:
        hold.release()
        raise
    svc.event_publish(c, "attach")
    try:
        if want_logs:
            existing = logs.ExistingLog(svc.log_path(c.id), logs.LogOptions(stdout=stdout, stderr=stderr))
            while (batch := await asyncio.to_thread(existing.next_batch)) is not None:
                await conn.write(b"".join(e.encode(tty, False) for e in batch))
        if not stream:
            return conn.response
        if started is not None:
            if c.state.status not in ("created", "restarting"):
                return conn.response  # exited: nothing more will come
            if not await wait_for_start(svc, c.id, conn, started, hold):
                return conn.response
        reader, writer = await stdio.connect(
            svc.runtime(c).attach_path(c.id), stdin=stdin, stdout=stdout, stderr=stderr
        )
        if await bridge(conn, reader, writer, stdin=stdin, detach_keys=keys):
            svc.event_publish(c, "detach")
    except (EngineError, OSError) as e:
        log.info("attach ended container=%s error=%s", c.id[:12], e)
    finally:
        hold.release()
        conn.close()
    return conn.response


class StartHold:
    """An attach made before the start (docker run) has the start ask the monitor to hold early output
    until we connect, so nothing is lost. Counted from before our response head goes out (the client
    sends its start as soon as it has read that head) until the start came or the attach gave up."""

    def __init__(self, svc: Containers, cid: str, *, wanted: bool) -> None:
        self._svc, self._cid, self._held = svc, cid, wanted
        if wanted:
            svc.pending_attach[cid] = svc.pending_attach.get(cid, 0) + 1

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        left = self._svc.pending_attach[self._cid] - 1
        if left:
            self._svc.pending_attach[self._cid] = left
        else:
            del self._svc.pending_attach[self._cid]


async def wait_for_start(
    svc: Containers, cid: str, conn: Hijacked, started: asyncio.Event, hold: StartHold
) -> bool:
    """Attached before start: wait for the start (or the client leaving, or the container's removal).
    False if it never came."""
    waiters = [asyncio.ensure_future(e.wait()) for e in (conn.closed, started, svc.removed_event(cid))]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
        hold.release()
    return started.is_set() and svc.store.current(cid) is not None


async def container_top(request: web.Request) -> web.StreamResponse:
    return json_response(await backends(request).containers.top(_id(request), qstr(request, "ps_args")))


async def container_stats(request: web.Request) -> web.StreamResponse:
    svc = backends(request).containers
    cid = svc.get(_id(request)).id
    stream = qbool(request, "stream", True) and not qbool(request, "one-shot")
    if not stream:
        first = await svc.stats(cid, None)
        if not qbool(request, "one-shot") and first["read"] != ZERO_TIME:
            await asyncio.sleep(STATS_INTERVAL)  # like dockerd: one sample with a real precpu to compare
            first = await svc.stats(cid, first)
        return json_response(first)
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    await resp.prepare(request)
    previous = None
    try:
        while True:
            sample = await svc.stats(cid, previous)
            await resp.write(json.dumps(sample).encode() + b"\n")
            if sample["read"] == ZERO_TIME:  # not running (any more): the stream ends
                break
            previous = sample
            await asyncio.sleep(STATS_INTERVAL)
        await resp.write_eof()
    except (ConnectionResetError, asyncio.CancelledError, NotFound):
        pass
    return resp


def _stat_header(stat: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(stat).encode()).decode()


async def archive_head(request: web.Request) -> web.StreamResponse:
    svc = backends(request).containers
    c = svc.get(_id(request))
    path = qstr(request, "path")
    stat = await svc.stat_path(c, path)
    return web.Response(status=200, headers={"X-Docker-Container-Path-Stat": _stat_header(stat)})


async def archive_get(request: web.Request) -> web.StreamResponse:
    svc = backends(request).containers
    c = svc.get(_id(request))
    path = qstr(request, "path")
    async with svc.reading(c, path) as (stat, chunks):
        resp = web.StreamResponse(
            headers={"Content-Type": "application/x-tar", "X-Docker-Container-Path-Stat": _stat_header(stat)}
        )
        await resp.prepare(request)
        try:
            async for chunk in chunks:
                await resp.write(chunk)
            await resp.write_eof()
        except ConnectionResetError:
            log.debug("archive reader went away container=%s", c.id[:12])
    return resp


async def archive_put(request: web.Request) -> web.StreamResponse:
    svc = backends(request).containers
    c = svc.get(_id(request))
    path = qstr(request, "path")
    if not path:
        raise InvalidParameter("path is required")
    await svc.extract(
        c,
        path,
        request.content,
        no_overwrite_dir_non_dir=qbool(request, "noOverwriteDirNonDir"),
        copy_uid_gid=qbool(request, "copyUIDGID"),
    )
    return web.Response(status=200)


async def export(request: web.Request) -> web.StreamResponse:
    svc = backends(request).containers
    c = svc.get(_id(request))
    async with svc.exporting(c) as chunks:
        resp = web.StreamResponse(headers={"Content-Type": "application/x-tar"})
        await resp.prepare(request)
        try:
            async for chunk in chunks:
                await resp.write(chunk)
            await resp.write_eof()
        except ConnectionResetError:
            log.debug("export reader went away container=%s", c.id[:12])
    return resp


async def changes(request: web.Request) -> web.StreamResponse:
    return json_response(await backends(request).containers.changes(_id(request)) or None)


def routes() -> list[Route]:
    return [
        ("GET", "/containers/{id}/logs", container_logs),
        ("POST", "/containers/{id}/attach", attach),
        ("GET", "/containers/{id}/top", container_top),
        ("GET", "/containers/{id}/stats", container_stats),
        ("HEAD", "/containers/{id}/archive", archive_head),
        ("GET", "/containers/{id}/archive", archive_get),
        ("PUT", "/containers/{id}/archive", archive_put),
        ("GET", "/containers/{id}/export", export),
        ("GET", "/containers/{id}/changes", changes),
    ]
