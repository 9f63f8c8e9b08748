"""Registry routes: POST /images/create?fromImage= (pull, streamed progress), POST /images/{name}/push,
POST /auth (docker login) and GET /distribution/{name}/json. `fromSrc` imports are handed to
engine.api.images.

The RegistryClient is the composition root's (`Backends.registry`, made on its first use).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from engine.api import images, web
from engine.api.backends import Route, backends
from engine.api.jsonstream import JSONStream
from engine.api.params import qstr
from engine.errors import InvalidParameter
from engine.images.reference import familiar, normalize

if TYPE_CHECKING:
    from engine.registry import Credentials, RegistryClient

log = logging.getLogger(__name__)


def registry_client(request: web.Request) -> RegistryClient:
    return backends(request).registry()


def decode_registry_auth(header: str) -> Credentials | None:
    from engine.registry import decode_registry_auth as decode  # loaded with the first registry request

    return decode(header)


def _ref(request: web.Request, name: str) -> str:
    tag = qstr(request, "tag")
    if tag:
        sep = "@" if tag.startswith("sha256:") else ":"
        last = name.rsplit("/", 1)[-1]
        if ":" in last or "@" in name:
            return name
        return f"{name}{sep}{tag}"
    return name


async def create_image(request: web.Request) -> web.StreamResponse:
    from_image = qstr(request, "fromImage")
    if not from_image:
        return await images.import_image(request)  # fromSrc
    b = backends(request)
    ref = _ref(request, from_image)
    creds = decode_registry_auth(request.headers.get("X-Registry-Auth", ""))
    platform = qstr(request, "platform") or None
    client = registry_client(request)
    stream = JSONStream(request)

    async def work() -> None:
        image = await asyncio.to_thread(
            client.pull, ref, platform=platform, credentials=creds, progress=stream.emit, cancel=stream.gone
        )
        if getattr(image, "id", ""):
            name = familiar(normalize(ref)) if "@" not in ref else ref
            b.events.publish("image", "pull", name, {"name": name})  # dockerd's actor: the reference

    return await stream.run(work)


async def push_image(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    ref = _ref(request, request.match_info["name"])
    creds = decode_registry_auth(request.headers.get("X-Registry-Auth", ""))
    client = registry_client(request)
    stream = JSONStream(request)

    async def work() -> None:
        await asyncio.to_thread(client.push, ref, credentials=creds, progress=stream.emit)
        name = familiar(normalize(ref))
        b.events.publish("image", "push", name, {"name": name})

    return await stream.run(work)


async def auth(request: web.Request) -> web.StreamResponse:
    try:
        body = await request.json()
    except (ValueError, RecursionError):
        raise InvalidParameter("invalid auth config: not JSON") from None
    if not isinstance(body, dict):
        raise InvalidParameter("invalid auth config: expected a JSON object")
    client = registry_client(request)
    result = await asyncio.to_thread(
        client.login,
        str(body.get("serveraddress") or ""),
        str(body.get("username") or ""),
        str(body.get("password") or ""),
    )
    return web.json_response(result)


async def distribution_info(request: web.Request) -> web.StreamResponse:
    """The manifest descriptor a reference names and the platforms it offers (as dockerd answers it)."""
    name = request.match_info["name"]
    creds = decode_registry_auth(request.headers.get("X-Registry-Auth", ""))
    client = registry_client(request)
    return web.json_response(await asyncio.to_thread(client.describe, name, credentials=creds))


def routes() -> list[Route]:
    return [
        ("POST", "/images/create", create_image),
        ("POST", "/images/{name:.+}/push", push_image),
        ("POST", "/auth", auth),
        ("GET", "/distribution/{name:.+}/json", distribution_info),
    ]
