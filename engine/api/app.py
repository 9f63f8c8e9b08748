"""The HTTP application (engine.api.web): one route table, answered at `/` and under `/v1.NN/`.

Every API module exposes `routes() -> list[Route]`; handlers reach the domain services through
`request.app[BACKENDS]` (see `engine.api.backends`). The images/volumes/system_df modules are
mounted when present.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable

from engine.api import web
from engine.api.backends import BACKENDS, Backends, Route
from engine.api.errors import error_middleware, error_response
from engine.api.version import API_VERSION, MIN_API_VERSION, parse_version

log = logging.getLogger(__name__)

_OURS = (
    "engine.api.system",
    "engine.api.containers",
    "engine.api.container_io",
    "engine.api.attach_ws",
    "engine.api.exec",
    "engine.api.networks",  # networks
    # before engine.api.images so its /images/create (pull, else import) wins
    "engine.api.distribution",
    "engine.api.build",
)
_THEIRS = ("engine.api.images", "engine.api.volumes", "engine.api.system_df")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
    routes: list[Route] = []
    for name in _OURS + _THEIRS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if name in _THEIRS and e.name == name:
                log.info("api module not present module=%s", name)
                continue
            raise
        routes.extend(module.routes())
    return routes


def make_app(backends: Backends) -> web.Application:
    app = web.Application(middlewares=[error_middleware, version_middleware])
    app[BACKENDS] = backends
    routes = collect_routes()
    explicit_head = {path for method, path, _ in routes if method == "HEAD"}
    for method, path, handler in routes:
        # the first module wins a duplicate; the router answers /v1.NN/ too (match_info["version"])
        if method == "GET":
            # also answers HEAD, unless the path has its own HEAD handler
            app.router.add_get(path, handler, allow_head=path not in explicit_head)
        else:
            app.router.add_route(method, path, handler)
    return app
