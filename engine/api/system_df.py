"""GET /system/df: disk usage of images, containers, volumes and build cache, as `docker system df` reads it.

The numbers come from the domain (`engine.system.SystemService.disk_usage`, run in a worker thread: it
walks directories); this module decodes the `type` filter and encodes Docker's objects.
"""

from __future__ import annotations

import asyncio
from typing import Any

from engine.api import web
from engine.api.backends import Route, backends
from engine.api.params import json_response
from engine.api.volumes import encode as encode_volume
from engine.containers.model import parse_rfc3339
from engine.errors import InvalidParameter
from engine.images.inspect import summary
from engine.system import TYPES, ContainerUsage, DiskUsage, ImageUsage


def _image(u: ImageUsage) -> dict[str, Any]:
    item = summary(u.image)
    item["Containers"] = u.containers
    item["SharedSize"] = u.shared_size
    return item


def _container(u: ContainerUsage) -> dict[str, Any]:
    c = u.container
    return {
        "Id": c.id,
        "Names": ["/" + c.name],
        "Image": c.image_name,
        "ImageID": c.image_id,
        "Command": " ".join([c.path, *c.args]).strip(),
        "Created": int(parse_rfc3339(c.created)),
        "State": c.state.status,
        "Status": c.state.status,
        "Labels": dict(c.config.get("Labels") or {}),
        "Mounts": list(c.mounts),
        "SizeRw": u.size_rw,
        "SizeRootFs": u.size_root_fs,
    }


def encode(usage: DiskUsage) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if usage.images is not None:
        out["Images"] = [_image(u) for u in usage.images]
        out["LayersSize"] = usage.layers_size
    if usage.containers is not None:
        out["Containers"] = [_container(u) for u in usage.containers]
    if usage.volumes is not None:
        out["Volumes"] = [encode_volume(u.volume, {"Size": u.size, "RefCount": u.ref_count})
                          for u in usage.volumes]
    if usage.build_cache is not None:
        out["BuildCache"] = usage.build_cache
    return out


async def system_df(request: web.Request) -> web.StreamResponse:
    wanted = frozenset(request.query.getall("type", [])) or frozenset(TYPES)
    unknown = wanted - set(TYPES)
    if unknown:
        raise InvalidParameter(f"unknown object type: {sorted(unknown)[0]}")
    usage = await asyncio.to_thread(backends(request).system.disk_usage, wanted)
    return json_response(encode(usage))


def routes() -> list[Route]:
    return [("GET", "/system/df", system_df)]
