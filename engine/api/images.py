"""Image endpoints of the Docker Engine API: list, inspect, history, tag, remove, prune, import, save, load
(pull and push: engine.api.distribution).

Handlers decode the request, call the image store (`engine.images.ImageStore`) in a worker thread
(its calls touch the disk), publish the event dockerd would, and encode Docker's JSON. Request bodies
(import, load) are spooled first so a bad archive is answered with a plain HTTP error, as dockerd does
when nothing has been streamed yet.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, cast

from engine.api import web
from engine.api.backends import Backends, Route, backends
from engine.api.params import json_response, qbool, qfilters, qstr
from engine.errors import InvalidParameter, NotFound
from engine.images import reference
from engine.images.inspect import summary
from engine.images.listing import created_ns, hide_intermediate, layer_sharing, matching_refs, select

log = logging.getLogger(__name__)

SPOOL_IN_MEMORY = 32 << 20  # request bodies above this go to a temp file
CHUNK = 1 << 16


# ---- helpers --------------------------------------------------------------------------------------


def _name(request: web.Request) -> str:
    return request.match_info["name"]


def _event_attrs(name: str, **extra: str) -> dict[str, str]:
    return {"name": name, **extra}


async def _spool_body(request: web.Request) -> BinaryIO:
    """The request body in a file object the store can read from a worker thread. Big bodies go to an
    unlinked file in the image store's own directory: /tmp may be a small tmpfs, images can be gigabytes."""
    spool = cast(  # a binary SpooledTemporaryFile: typeshed calls it IO[bytes]
        BinaryIO,
        tempfile.SpooledTemporaryFile(  # noqa: SIM115 - the caller closes it
            max_size=SPOOL_IN_MEMORY, dir=str(backends(request).images.root)
        ),
    )
    try:
        async for chunk in request.content.iter_chunked(CHUNK):
            spool.write(chunk)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool


async def _json_stream(request: web.Request, messages: Iterable[dict[str, Any]]) -> web.StreamResponse:
    resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    await resp.prepare(request)
    for msg in messages:
        await resp.write(json.dumps(msg).encode() + b"\r\n")
    await resp.write_eof()
    return resp


def _repo_tag(repo: str, tag: str) -> str | None:
    if not repo:
        if tag:
            raise InvalidParameter("tag is specified without a repository")
        return None
    return f"{repo}:{tag}" if tag else repo


# ---- handlers -------------------------------------------------------------------------------------


async def list_images(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    filters = qfilters(request)
    images = await asyncio.to_thread(b.images.list)
    chosen = await asyncio.to_thread(select, images, filters, b.images.get)
    if not qbool(request, "all", False):
        chosen = hide_intermediate(chosen, images)
    with_digests = qbool(request, "digests", True)
    shared = (
        (await asyncio.to_thread(layer_sharing, b.images.layers, images))[0]
        if qbool(request, "shared-size")
        else {}
    )
    out = []
    for image in sorted(chosen, key=created_ns, reverse=True):  # newest first, as `docker images` lists
        item = summary(image)
        if shared:
            item["SharedSize"] = shared[image.id]
        if "reference" in filters:  # as dockerd: only the names that matched are listed
            item["RepoTags"] = matching_refs(image.repo_tags, filters["reference"])
            item["RepoDigests"] = matching_refs(image.repo_digests, filters["reference"])
        if not with_digests:
            item["RepoDigests"] = []
        out.append(item)
    return json_response(out)


async def inspect_image(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    return json_response(await asyncio.to_thread(b.images.inspect, _name(request)))


async def image_history(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    return json_response(await asyncio.to_thread(b.images.history, _name(request)))


async def tag_image(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    repo, tag = qstr(request, "repo"), qstr(request, "tag")
    new_ref = _repo_tag(repo, tag)
    if new_ref is None:
        raise InvalidParameter("repository name must have at least one component")
    source = _name(request)
    image = await asyncio.to_thread(b.images.get, source)
    await asyncio.to_thread(b.images.tag, source, new_ref)
    b.events.publish("image", "tag", image.id, _event_attrs(reference.parse_tagged(new_ref).familiar()))
    return web.Response(status=201)


async def delete_image(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    name = _name(request)
    force, noprune = qbool(request, "force"), qbool(request, "noprune")
    image = await asyncio.to_thread(b.images.get, name)
    deleted = await asyncio.to_thread(
        b.images.remove,
        name,
        force=force,
        prune=not noprune,
        in_use=b.containers.image_users,
        running=lambda iid: b.containers.image_users(iid, running_only=True),
    )
    _publish_removals(b, deleted, {image.id}, kept=image.id)
    return json_response(deleted)


async def prune_images(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    filters = {k: list(v) for k, v in qfilters(request).items()}
    before = {i.id for i in await asyncio.to_thread(b.images.list)}
    report = await asyncio.to_thread(b.images.prune, filters=filters, in_use=b.containers.image_users)
    deleted = report.get("ImagesDeleted") or []
    _publish_removals(b, deleted, before)
    reclaimed = int(report.get("SpaceReclaimed") or 0)
    b.events.publish("image", "prune", "", {"reclaimed": str(reclaimed)})
    return json_response({"ImagesDeleted": deleted or None, "SpaceReclaimed": reclaimed})


def _publish_removals(b: Backends, items: list[dict[str, str]], image_ids: set[str], kept: str = "") -> None:
    """untag/delete events as dockerd sends them, with the image id as the actor. A removal report lists
    an image's untags before its deletion and also names deleted layers, which get no event; untags
    with no deletion after them belong to `kept`, the image that stays."""
    pending = 0
    for item in items:
        if "Untagged" in item:
            pending += 1
        elif item.get("Deleted") in image_ids:
            image_id = item["Deleted"]
            for _ in range(pending):
                b.events.publish("image", "untag", image_id, _event_attrs(image_id))
            pending = 0
            b.events.publish("image", "delete", image_id, _event_attrs(image_id))
    for _ in range(pending if kept else 0):
        b.events.publish("image", "untag", kept, _event_attrs(kept))


async def import_image(request: web.Request) -> web.StreamResponse:
    """POST /images/create?fromSrc=-: the body imported as a rootfs (engine.api.distribution owns the
    route: `fromImage` pulls, anything else is handed here)."""
    b = backends(request)
    from_src = qstr(request, "fromSrc")
    if from_src != "-":
        if not from_src:
            raise InvalidParameter("fromImage or fromSrc is required")
        raise InvalidParameter(f"importing from a URL is not supported: {from_src}")
    repo_tag = _repo_tag(qstr(request, "repo"), qstr(request, "tag"))
    changes = [c for c in request.query.getall("changes", []) if c.strip()]
    message = qstr(request, "message")
    body = await _spool_body(request)
    try:
        image = await asyncio.to_thread(b.images.import_rootfs, body, repo_tag, changes, message)
    finally:
        body.close()
    b.events.publish("image", "import", image.id, _event_attrs(image.id))
    return await _json_stream(request, [{"status": image.id}])


async def load_images(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    body = await _spool_body(request)
    try:
        lines = await asyncio.to_thread(b.images.load, body)
    finally:
        body.close()
    for line in lines:
        ref = line.split(": ", 1)[-1].strip()
        try:
            image_id = (await asyncio.to_thread(b.images.get, ref)).id
        except NotFound:  # removed meanwhile
            continue
        b.events.publish("image", "load", image_id, _event_attrs(image_id))
    return await _json_stream(request, [{"stream": line.rstrip("\n") + "\n"} for line in lines])


async def save_images(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    names = [_name(request)] if "name" in request.match_info else request.query.getall("names", [])
    if not names:
        raise InvalidParameter("no images to save: pass names=<image>")
    images = [await asyncio.to_thread(b.images.get, n) for n in names]  # 404 before any byte is sent
    chunks: Iterator[bytes] = await asyncio.to_thread(b.images.save, names)
    resp = web.StreamResponse(status=200, headers={"Content-Type": "application/x-tar"})
    await resp.prepare(request)
    while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
        if chunk:  # a producer may yield empty pieces; only the end of the iterator ends the archive
            await resp.write(chunk)
    await resp.write_eof()
    for name, image in zip(names, images, strict=True):
        b.events.publish("image", "save", image.id, _event_attrs(name))
    return resp


def routes() -> list[Route]:
    return [
        ("GET", "/images/json", list_images),
        ("GET", "/images/get", save_images),
        ("POST", "/images/load", load_images),
        ("POST", "/images/prune", prune_images),
        ("GET", "/images/{name:.+}/json", inspect_image),
        ("GET", "/images/{name:.+}/history", image_history),
        ("GET", "/images/{name:.+}/get", save_images),
        ("POST", "/images/{name:.+}/tag", tag_image),
        ("DELETE", "/images/{name:.+}", delete_image),
    ]
