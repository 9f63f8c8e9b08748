"""Network endpoints of the Docker Engine API: create, list, inspect, remove, prune, connect, disconnect.

Handlers decode, call `engine.network.NetworkService` in a worker thread, publish dockerd's network events
and encode. The service is built by the composition root and reached through `Backends.networks`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from engine.api import web
from engine.api.backends import Networks, Route, backends
from engine.api.params import json_body, json_response, qfilters
from engine.containers.model import Container
from engine.errors import InvalidParameter


def _service(request: web.Request) -> Networks:
    return backends(request).networks


def _filters(request: web.Request) -> dict[str, list[str]]:
    return {k: list(v) for k, v in qfilters(request).items()}


def _publish(request: web.Request, action: str, nid: str, attrs: dict[str, str]) -> None:
    backends(request).events.publish("network", action, nid, attrs)


async def create_network(request: web.Request) -> web.StreamResponse:
    body = await json_body(request)
    svc = _service(request)
    n = await asyncio.to_thread(svc.create, body)
    _publish(request, "create", n.id, {"name": n.name, "type": n.driver})
    return json_response({"Id": n.id, "Warning": ""}, status=201)


async def list_networks(request: web.Request) -> web.StreamResponse:
    svc = _service(request)
    nets = svc.find(_filters(request))
    return json_response([svc.inspect(n) for n in nets])


async def inspect_network(request: web.Request) -> web.StreamResponse:
    svc = _service(request)
    return json_response(svc.inspect(svc.get(request.match_info["id"])))


async def remove_network(request: web.Request) -> web.StreamResponse:
    svc = _service(request)
    n = svc.get(request.match_info["id"])
    await asyncio.to_thread(svc.remove, n.id)
    _publish(request, "destroy", n.id, {"name": n.name, "type": n.driver})
    return web.Response(status=204)


async def prune_networks(request: web.Request) -> web.StreamResponse:
    svc = _service(request)
    removed = await asyncio.to_thread(svc.prune, _filters(request))
    _publish(request, "prune", "", {"reclaimed": "0"})
    return json_response({"NetworksDeleted": removed})


def _container_ref(body: dict[str, Any]) -> str:
    ref = body.get("Container")
    if not isinstance(ref, str) or not ref:
        raise InvalidParameter("a container name or id is required")
    return ref


async def connect_network(request: web.Request) -> web.StreamResponse:
    body = await json_body(request)
    svc, b = _service(request), backends(request)
    n = svc.get(request.match_info["id"])
    c = b.containers.get(_container_ref(body))
    # ordered with the container's start/stop, so the endpoint lands in the namespace it will use
    async with b.containers.lock(c.id):
        c = b.containers.get(c.id)
        running = c.state.status in ("running", "paused", "restarting")
        await asyncio.to_thread(
            svc.connect, n.id, c.id, c.name, running, c.host_config, body.get("EndpointConfig") or {}
        )
    _publish(request, "connect", n.id, {"container": c.id, "name": n.name, "type": n.driver})
    return web.Response(status=200)


async def disconnect_network(request: web.Request) -> web.StreamResponse:
    body = await json_body(request)
    svc, b = _service(request), backends(request)
    n = svc.get(request.match_info["id"])
    c = b.containers.get(_container_ref(body))
    async with b.containers.lock(c.id):
        await asyncio.to_thread(svc.disconnect, n.id, c.id, c.name, bool(body.get("Force")))
    _publish(request, "disconnect", n.id, {"container": c.id, "name": n.name, "type": n.driver})
    return web.Response(status=200)


def overlay_inspect(request: web.Request, c: Container, out: dict[str, Any]) -> dict[str, Any]:
    """A container's inspect JSON with NetworkSettings from the networking layer (used by containers.py)."""
    out["NetworkSettings"] = _service(request).settings(c.id, c.config, c.host_config)
    return out


def overlay_summary(request: web.Request, c: Container, out: dict[str, Any]) -> dict[str, Any]:
    """A `docker ps` entry with its published ports and networks."""
    svc = _service(request)
    out["Ports"] = svc.ps_ports(c.id, c.config)
    out["NetworkSettings"] = {"Networks": svc.settings(c.id, c.config, c.host_config)["Networks"]}
    return out


def routes() -> list[Route]:
    return [
        ("GET", "/networks", list_networks),
        ("POST", "/networks/create", create_network),
        ("POST", "/networks/prune", prune_networks),
        ("GET", "/networks/{id}", inspect_network),
        ("DELETE", "/networks/{id}", remove_network),
        ("POST", "/networks/{id}/connect", connect_network),
        ("POST", "/networks/{id}/disconnect", disconnect_network),
    ]


__all__ = ["overlay_inspect", "overlay_summary", "routes"]
