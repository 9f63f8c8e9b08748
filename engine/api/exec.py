"""Exec routes: create, start (hijacked unless detached), inspect, resize."""

from __future__ import annotations

import logging

from engine.api import web
from engine.api.backends import Route, backends
from engine.api.hijack import hijack
from engine.api.params import json_body, json_response, qint
from engine.api.streams import bridge, reframe
from engine.containers import detachkeys, stdio
from engine.errors import EngineError, ProcessStartFailed

log = logging.getLogger(__name__)
DETACHED = b"exec attach failed: error on attach stdin: read escape sequence"


async def create(request: web.Request) -> web.StreamResponse:
    body = await json_body(request)
    eid = backends(request).execs.create(request.match_info["id"], body)
    return json_response({"Id": eid}, status=201)


async def start(request: web.Request) -> web.StreamResponse:
    execs = backends(request).execs
    body = await json_body(request, optional=True)
    detach = bool(body.get("Detach"))
    # As dockerd: the process's TTY is the exec's own (from create), while the stream's framing is what
    # the start asks for (Tty false: stdcopy frames, even around a TTY's output; true: raw bytes).
    framed = not body.get("Tty")
    try:
        e, path = await execs.start(request.match_info["id"], detach=detach)
    except ProcessStartFailed as err:
        if detach:
            raise
        # dockerd has already hijacked when the runtime fails: the error comes on the stream
        conn = await hijack(request, multiplexed=framed)
        text = (err.message + "\r\n").encode()
        await conn.write(stdio.frame(1, text) if framed else text)
        conn.close()
        return conn.response
    if detach:
        return web.Response(status=200)
    conn = await hijack(request, multiplexed=framed)
    try:
        reader, writer = await stdio.connect(
            path, stdin=e.attach_stdin, stdout=e.attach_stdout, stderr=e.attach_stderr
        )
        if framed == e.tty:  # the monitor frames exactly when the process has no TTY
            reader = reframe(reader, framed=framed)
        # as dockerd, detach keys act only on a TTY exec, and the client is told why its stream ended
        keys = detachkeys.parse(e.detach_keys) if e.tty else None
        farewell = DETACHED + b"\r\n"
        if await bridge(conn, reader, writer, stdin=e.attach_stdin, detach_keys=keys,
                        farewell=stdio.frame(1, farewell) if framed else farewell):
            log.info("exec detached exec=%s", e.id[:12])
    except (EngineError, OSError) as err:
        log.info("exec stream ended exec=%s error=%s", e.id[:12], err)
    finally:
        conn.close()
        execs.finished(e.id)
    return conn.response


async def inspect(request: web.Request) -> web.StreamResponse:
    return json_response(backends(request).execs.inspect(request.match_info["id"]))


async def resize(request: web.Request) -> web.StreamResponse:
    await backends(request).execs.resize(
        request.match_info["id"], qint(request, "h", 0) or 0, qint(request, "w", 0) or 0
    )
    return web.Response(status=201)


def routes() -> list[Route]:
    return [
        ("POST", "/containers/{id}/exec", create),
        ("POST", "/exec/{id}/start", start),
        ("GET", "/exec/{id}/json", inspect),
        ("POST", "/exec/{id}/resize", resize),
    ]
