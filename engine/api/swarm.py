"""Swarm endpoints of an engine that is never a swarm node: dockerd's answers when it is not in a swarm, so
clients that look (or `swarm leave` in their cleanup) carry on. Swarm itself is dockerd's (see DESIGN)."""

from __future__ import annotations

from engine.api import web
from engine.api.backends import Route
from engine.api.params import qbool
from engine.errors import InvalidParameter, Unavailable

NOT_A_MANAGER = (
    'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this '
    "node to swarm and try again."
)
NOT_IN_A_SWARM = "This node is not part of a swarm"
NO_SWARM_MODE = "this engine cannot be a swarm node: point DOCKER_HOST at a dockerd to use swarm mode"


async def not_a_manager(request: web.Request) -> web.StreamResponse:
    raise Unavailable(NOT_A_MANAGER)


async def leave(request: web.Request) -> web.StreamResponse:
    raise Unavailable(NOT_IN_A_SWARM)


async def no_swarm_mode(request: web.Request) -> web.StreamResponse:
    raise Unavailable(NO_SWARM_MODE)


async def logs(request: web.Request) -> web.StreamResponse:
    if not (qbool(request, "stdout") or qbool(request, "stderr")):
        raise InvalidParameter("Bad parameters: you must choose at least one stream")
    raise Unavailable(NOT_A_MANAGER)


def routes() -> list[Route]:
    out: list[Route] = [
        ("GET", "/swarm", not_a_manager),
        ("GET", "/swarm/unlockkey", not_a_manager),
        ("POST", "/swarm/update", not_a_manager),
        ("POST", "/swarm/unlock", not_a_manager),
        ("POST", "/swarm/leave", leave),
        ("POST", "/swarm/init", no_swarm_mode),
        ("POST", "/swarm/join", no_swarm_mode),
        ("GET", "/services/{id}/logs", logs),
        ("GET", "/tasks/{id}/logs", logs),
    ]
    for kind in ("services", "nodes", "tasks", "secrets", "configs"):
        out += [("GET", f"/{kind}", not_a_manager), ("GET", f"/{kind}/{{id}}", not_a_manager)]
        if kind != "tasks":
            out += [
                ("DELETE", f"/{kind}/{{id}}", not_a_manager),
                ("POST", f"/{kind}/{{id}}/update", not_a_manager),
            ]
        if kind in ("services", "secrets", "configs"):
            out.append(("POST", f"/{kind}/create", not_a_manager))
    return out
