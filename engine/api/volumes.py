"""Volume endpoints of the Docker Engine API: create, list, inspect, remove, prune.

Handlers decode, call the volume store (`engine.volumes.VolumeStore`) in a worker thread, publish
dockerd's events and encode Docker's Volume JSON.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from engine.api import web
from engine.api.backends import Route, backends
from engine.api.params import json_body, json_response, qbool, qfilters
from engine.errors import InvalidParameter, NotFound
from engine.volumes.store import Volume

log = logging.getLogger(__name__)

VOLUME_FILTERS = {"name", "label", "dangling", "driver"}
PRUNE_FILTERS = {"label", "label!", "all"}


def encode(volume: Volume, usage: dict[str, int] | None = None) -> dict[str, Any]:
    """Docker's Volume object; `usage` adds UsageData as /system/df shows it."""
    out: dict[str, Any] = {
        "Name": volume.name,
        "Driver": volume.driver,
        "Mountpoint": str(volume.mountpoint),
        "CreatedAt": volume.created_at,
        "Labels": dict(volume.labels or {}),
        "Scope": "local",
        "Options": dict(volume.options or {}),
    }
    if usage is not None:
        out["UsageData"] = usage
    return out


def _name(request: web.Request) -> str:
    return request.match_info["name"]


def _str_map(value: Any, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidParameter(f"invalid {field}: expected an object of strings")
    return {str(k): v for k, v in value.items()}


async def create_volume(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    body = await json_body(request, optional=True)
    name = body.get("Name") or None
    if name is not None and not isinstance(name, str):
        raise InvalidParameter("invalid Name: expected a string")
    driver = body.get("Driver") or "local"
    if not isinstance(driver, str):
        raise InvalidParameter("invalid Driver: expected a string")
    labels = _str_map(body.get("Labels"), "Labels")
    opts = _str_map(body.get("DriverOpts"), "DriverOpts")
    existed = False
    if name is not None:
        try:
            await asyncio.to_thread(b.volumes.get, name)
            existed = True
        except NotFound:
            pass
    volume = await asyncio.to_thread(b.volumes.create, name, driver=driver, labels=labels, driver_opts=opts)
    if not existed:
        b.events.publish("volume", "create", volume.name, {"driver": volume.driver})
    return json_response(encode(volume), status=201)


async def list_volumes(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    filters = qfilters(request)
    unknown = set(filters) - VOLUME_FILTERS
    if unknown:
        raise InvalidParameter(f"invalid filter '{sorted(unknown)[0]}'")
    volumes = await asyncio.to_thread(b.volumes.list, filters, b.containers.volume_users)
    return json_response({"Volumes": [encode(v) for v in volumes], "Warnings": []})


async def inspect_volume(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    return json_response(encode(await asyncio.to_thread(b.volumes.get, _name(request))))


async def delete_volume(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    name = _name(request)
    force = qbool(request, "force")
    try:
        await asyncio.to_thread(b.volumes.remove, name, force=force, in_use=b.containers.volume_users)
    except NotFound:
        if not force:  # dockerd: with force, removing a missing volume is success
            raise
        return web.Response(status=204)
    b.events.publish("volume", "destroy", name, {"driver": "local"})
    return web.Response(status=204)


async def prune_volumes(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    filters = qfilters(request)
    unknown = set(filters) - PRUNE_FILTERS
    if unknown:
        raise InvalidParameter(f"invalid filter '{sorted(unknown)[0]}'")
    report = await asyncio.to_thread(b.volumes.prune, filters, b.containers.volume_users)
    for name in report.get("VolumesDeleted") or []:
        b.events.publish("volume", "destroy", name, {"driver": "local"})
    b.events.publish("volume", "prune", "", {"reclaimed": str(report.get("SpaceReclaimed", 0))})
    return json_response(
        {
            "VolumesDeleted": report.get("VolumesDeleted") or None,
            "SpaceReclaimed": int(report.get("SpaceReclaimed", 0)),
        }
    )


def routes() -> list[Route]:
    return [
        ("POST", "/volumes/create", create_volume),
        ("POST", "/volumes/prune", prune_volumes),
        ("GET", "/volumes", list_volumes),
        ("GET", "/volumes/{name}", inspect_volume),
        ("DELETE", "/volumes/{name}", delete_volume),
    ]
