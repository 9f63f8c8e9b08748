"""The HTTP application (engine.api.web): one route table, answered at `/` and under `/v1.NN/`.

Every route group exposes `routes() -> list[Route]`; handlers reach the domain services through
`request.app[BACKENDS]` (see `engine.api.backends`). A (method, path) belongs to exactly one group.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from engine.api import (
    attach_ws,
    build,
    container_io,
    containers,
    distribution,
    exec,
    images,
    networks,
    swarm,
    system,
    system_df,
    volumes,
    web,
)
from engine.api.backends import BACKENDS, Backends, Route
from engine.api.errors import error_middleware, error_response
from engine.api.version import API_VERSION, MIN_API_VERSION, parse_version
from engine.kernel import syscalls

log = logging.getLogger(__name__)

GROUPS = (  # the router tries patterns in the order they were added: this order
    system,
    containers,
    container_io,
    attach_ws,
    exec,
    networks,
    distribution,
    build,
    images,
    volumes,
    system_df,
    swarm,  # dockerd's answers outside a swarm
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


@web.middleware
async def version_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    raw = request.match_info.get("version")
    if raw is not None:
        v = parse_version(raw)
        if v is None:
            return error_response(400, f"invalid API version {raw!r}")
        if v > parse_version(API_VERSION):  # type: ignore[operator]
            return error_response(
                400, f"client version {raw} is too new. Maximum supported API version is {API_VERSION}"
            )
        if v < parse_version(MIN_API_VERSION):  # type: ignore[operator]
            return error_response(
                400,
                f"client version {raw} is too old. Minimum supported API version is {MIN_API_VERSION}, "
                "please upgrade your client to a newer version",
            )
    resp = await handler(request)
    return resp


def collect_routes() -> list[Route]:
    """Every group's routes; a (method, path) two groups claim is a programming error, found at start."""
    routes: list[Route] = []
    owner: dict[tuple[str, str], str] = {}
    for group in GROUPS:
        for route in group.routes():
            key = (route[0], route[1])
            if key in owner:
                raise RuntimeError(f"{key[0]} {key[1]} is routed by {owner[key]} and {group.__name__}")
            owner[key] = group.__name__
            routes.append(route)
    return routes


def idle_trim_middleware(
    quiet: float = 0.5,
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """After every request, a timer: once no request has come for `quiet` seconds, the heap's free memory
    goes back to the kernel (engine.kernel.syscalls.malloc_trim; ~2.3 MiB of the idle daemon after an
    image load and a `docker run`). Idle by definition, so the event loop has the few ms it takes."""
    pending: list[asyncio.TimerHandle] = []

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        finally:
            if pending:
                pending.pop().cancel()
            pending.append(asyncio.get_running_loop().call_later(quiet, syscalls.malloc_trim))

    return middleware


def make_app(backends: Backends) -> web.Application:
    app = web.Application(middlewares=[idle_trim_middleware(), error_middleware, version_middleware])
    app[BACKENDS] = backends
    routes = collect_routes()
    explicit_head = {path for method, path, _ in routes if method == "HEAD"}
    for method, path, handler in routes:
        # the router answers /v1.NN/ too (match_info["version"])
        if method == "GET":
            # also answers HEAD, unless the path has its own HEAD handler
            app.router.add_get(path, handler, allow_head=path not in explicit_head)
        else:
            app.router.add_route(method, path, handler)
    return app
