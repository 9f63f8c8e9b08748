"""Container routes: create, list, inspect, lifecycle, rename, resize, wait, remove, prune.
Handlers decode, call ContainerService, encode."""

from __future__ import annotations

import asyncio
import json
import logging
import time

from engine.api import web
from engine.api.backends import Route, backends
from engine.api.networks import overlay_inspect, overlay_summary
from engine.api.params import json_body, json_response, loads, qbool, qfilters, qint, qstr, timestamp_ns
from engine.containers import inspect as views
from engine.errors import EngineError, InvalidParameter

log = logging.getLogger(__name__)


def _id(request: web.Request) -> str:
    return request.match_info["id"]


async def create(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    body = await json_body(request)
    name = qstr(request, "name") or None
    cid, warnings = await b.containers.create(name, body, qstr(request, "platform"))
    return json_response({"Id": cid, "Warnings": warnings}, status=201)


async def list_(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    filters = qfilters(request)
    chosen = views.select(
        b.containers.store.all(),
        filters,
        all_=qbool(request, "all"),
        limit=qint(request, "limit"),
        image_matches=b.containers.image_matches,
    )
    now = time.time()
    size = qbool(request, "size")
    out = []
    for c in chosen:
        try:
            sizes = await b.containers.sizes(c) if size else None
            out.append(overlay_summary(request, c, views.summary(c, now, sizes)))  # + ports/networks
        except (EngineError, OSError, ValueError, TypeError, KeyError, AttributeError) as e:
            # a record an older engine stored, however odd, must not fail the listing for every client
            log.warning("container listed without details container=%s error=%r", c.id[:12], e)
            out.append(views.bare_summary(c))
    return json_response(out)


async def inspect(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    c = b.containers.get(_id(request))
    sizes = await b.containers.sizes(c) if qbool(request, "size") else None
    return json_response(
        overlay_inspect(  # NetworkSettings from engine.network
            request,
            c,
            views.inspect(
                c,
                str(b.containers.store.dir(c.id)),
                str(b.containers.log_path(c.id)),
                b.containers.graph_driver_data(c),
                sizes,
            ),
        )
    )


async def start(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    body = await request.read()
    if body.strip() not in (b"", b"null", b"{}"):
        extra = loads(body)
        if extra:
            raise InvalidParameter(
                "starting container with non-empty request body was deprecated since API v1.22 "
                "and removed in v1.24"
            )
    await b.containers.start(_id(request))
    return web.Response(status=204)


def _timeout(request: web.Request) -> int | None:
    return qint(request, "t", qint(request, "timeout"))


async def stop(request: web.Request) -> web.StreamResponse:
    await backends(request).containers.stop(
        _id(request), signal=qstr(request, "signal") or None, timeout=_timeout(request)
    )
    return web.Response(status=204)


async def restart(request: web.Request) -> web.StreamResponse:
    await backends(request).containers.restart(
        _id(request), signal=qstr(request, "signal") or None, timeout=_timeout(request)
    )
    return web.Response(status=204)


async def kill(request: web.Request) -> web.StreamResponse:
    await backends(request).containers.kill(_id(request), qstr(request, "signal") or None)
    return web.Response(status=204)


async def pause(request: web.Request) -> web.StreamResponse:
    await backends(request).containers.pause(_id(request))
    return web.Response(status=204)


async def unpause(request: web.Request) -> web.StreamResponse:
    await backends(request).containers.unpause(_id(request))
    return web.Response(status=204)


async def wait(request: web.Request) -> web.StreamResponse:
    pending = backends(request).containers.wait_for(_id(request), qstr(request, "condition"))
    # headers go out as soon as the wait is registered: `docker run` starts the container only then
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    try:
        await resp.prepare(request)
        result = await pending
        await resp.write(json.dumps(result).encode() + b"\n")
        await resp.write_eof()
    except (ConnectionResetError, asyncio.CancelledError):
        pending.close()  # type: ignore[attr-defined]
    return resp


async def remove(request: web.Request) -> web.StreamResponse:
    if qbool(request, "link"):
        raise InvalidParameter("links are not supported")
    await backends(request).containers.remove(
        _id(request), force=qbool(request, "force"), volumes=qbool(request, "v")
    )
    return web.Response(status=204)


async def rename(request: web.Request) -> web.StreamResponse:
    await backends(request).containers.rename(_id(request), qstr(request, "name"))
    return web.Response(status=204)


async def resize(request: web.Request) -> web.StreamResponse:
    h, w = qint(request, "h", 0), qint(request, "w", 0)
    await backends(request).containers.resize(_id(request), h or 0, w or 0)
    return web.Response(status=200)


async def prune(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    filters = qfilters(request)
    until = [timestamp_ns(v, "until") or 0 for v in filters.get("until", ())]
    deleted, reclaimed = await b.containers.prune(filters, until)
    return json_response({"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed})


async def commit(request: web.Request) -> web.StreamResponse:
    body = await json_body(request, optional=True)
    repo, tag = qstr(request, "repo"), qstr(request, "tag")
    if tag and not repo:
        raise InvalidParameter("tag requires a repository")
    image_id = await backends(request).containers.commit(
        qstr(request, "container"),
        tags=[f"{repo}:{tag or 'latest'}"] if repo else [],
        config=body or None,
        changes=[c for c in request.query.getall("changes", []) if c.strip()],
        comment=qstr(request, "comment"),
        author=qstr(request, "author"),
        pause=qbool(request, "pause", True),
    )
    return json_response({"Id": image_id}, status=201)


async def update(request: web.Request) -> web.StreamResponse:
    body = await json_body(request)
    warnings = await backends(request).containers.update(_id(request), body)
    return json_response({"Warnings": warnings})


def routes() -> list[Route]:
    return [
        ("POST", "/containers/create", create),
        ("GET", "/containers/json", list_),
        ("POST", "/containers/prune", prune),
        ("GET", "/containers/{id}/json", inspect),
        ("POST", "/containers/{id}/start", start),
        ("POST", "/containers/{id}/stop", stop),
        ("POST", "/containers/{id}/restart", restart),
        ("POST", "/containers/{id}/kill", kill),
        ("POST", "/containers/{id}/pause", pause),
        ("POST", "/containers/{id}/unpause", unpause),
        ("POST", "/containers/{id}/wait", wait),
        ("POST", "/containers/{id}/rename", rename),
        ("POST", "/containers/{id}/resize", resize),
        ("POST", "/containers/{id}/update", update),
        ("DELETE", "/containers/{id}", remove),
        ("POST", "/commit", commit),
    ]
