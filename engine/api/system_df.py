"""GET /system/df: disk usage of images, containers, volumes and build cache, as `docker system df` reads it.

All the numbers come from the stores' own records (layer sizes, rw layer sizes, volume directories); walking
directories happens in a worker thread, never in the event loop.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
from pathlib import Path
from typing import Any

from engine.api import web
from engine.api.backends import Backends, Route, backends
from engine.api.params import json_response
from engine.api.volumes import encode as encode_volume
from engine.containers.model import parse_rfc3339
from engine.errors import InvalidParameter, NotFound
from engine.images.inspect import summary
from engine.images.listing import layer_sharing

log = logging.getLogger(__name__)

TYPES = ("container", "image", "volume", "build-cache")


def dir_size(root: Path) -> int:
    """Bytes used by the regular files under `root` (hard links counted once, symlinks not followed)."""
    total = 0
    seen: set[tuple[int, int]] = set()
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue  # removed while we walk
            if st.st_nlink > 1:
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    continue
                seen.add(key)
            total += st.st_size
    return total


def _images(b: Backends) -> tuple[list[dict[str, Any]], int]:
    images = b.images.list()
    users = collections.Counter(c.image_id for c in b.containers.store.all())
    shared, layers_size = layer_sharing(b.images.layers, images)
    out = []
    for image in images:
        item = summary(image)
        item["Containers"] = users.get(image.id, 0)
        item["SharedSize"] = shared[image.id]
        out.append(item)
    return out, layers_size


def _rw_size(b: Backends, cid: str) -> int:
    upper = Path(b.images.root) / "rw" / cid / "upper"  # the rw layer's layout (engine.images.rw)
    return dir_size(upper) if upper.is_dir() else 0


def _containers(b: Backends) -> list[dict[str, Any]]:
    out = []
    image_sizes: dict[str, int] = {}
    for c in b.containers.store.all():
        if c.image_id not in image_sizes:
            try:
                image_sizes[c.image_id] = b.images.get(c.image_id).size
            except NotFound:
                image_sizes[c.image_id] = 0
        size_rw = _rw_size(b, c.id)
        out.append(
            {
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
                "SizeRw": size_rw,
                "SizeRootFs": size_rw + image_sizes[c.image_id],
            }
        )
    return out


def _volumes(b: Backends) -> list[dict[str, Any]]:
    out = []
    for v in b.volumes.list({}, b.containers.volume_users):
        users = b.containers.volume_users(v.name)
        out.append(encode_volume(v, {"Size": dir_size(Path(v.mountpoint)), "RefCount": len(users)}))
    return out


def disk_usage(b: Backends, types: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "image" in types:
        out["Images"], out["LayersSize"] = _images(b)
    if "container" in types:
        out["Containers"] = _containers(b)
    if "volume" in types:
        out["Volumes"] = _volumes(b)
    if "build-cache" in types:
        out["BuildCache"] = []  # no builder yet: nothing cached
    return out


async def system_df(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    wanted = set(request.query.getall("type", [])) or set(TYPES)
    unknown = wanted - set(TYPES)
    if unknown:
        raise InvalidParameter(f"unknown object type: {sorted(unknown)[0]}")
    return json_response(await asyncio.to_thread(disk_usage, b, wanted))


def routes() -> list[Route]:
    return [("GET", "/system/df", system_df)]
