"""Registry routes: POST /images/create?fromImage= (pull, streamed progress), POST /images/{name}/push,
POST /auth (docker login) and GET /distribution/{name}/json. `fromSrc` imports stay with engine.api.images.

The RegistryClient (with the daemon's registry-mirrors, insecure-registries and a staging dir under the
data root) is made on first use and kept on the app: the idle daemon never loads the registry client.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.api import web
from engine.api.backends import Backends, Route, backends
from engine.api.jsonstream import JSONStream
from engine.api.params import qstr
from engine.errors import InvalidParameter
from engine.images.reference import familiar, normalize

if TYPE_CHECKING:
    from engine.registry import RegistryClient

log = logging.getLogger(__name__)
REGISTRY: web.AppKey[RegistryClient] = web.AppKey("registry")


def make_client(b: Backends) -> RegistryClient:
    from engine.registry import RegistryClient, RegistryOptions

    cfg = b.config
    options = RegistryOptions.from_daemon_config(
        {"registry-mirrors": list(cfg.registry_mirrors), "insecure-registries": list(cfg.insecure_registries)}
    )
    staging = Path(cfg.data_root) / "registry-staging"
    staging.mkdir(parents=True, exist_ok=True)
    return RegistryClient(b.images, options, staging_dir=staging)


def registry_client(request: web.Request) -> RegistryClient:
    client = request.app.get(REGISTRY)
    if client is None:
        client = request.app[REGISTRY] = make_client(backends(request))
    return client


def decode_registry_auth(header: str) -> Any:
    from engine.registry import decode_registry_auth as decode

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
        from engine.api import images

        return await images.create_image(request)  # fromSrc: an import
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
    from engine.registry.manifest import Manifest, parse_manifest
    from engine.registry.pull import fetch_config, fetch_manifest
    from engine.registry.reference import parse

    name = request.match_info["name"]
    creds = decode_registry_auth(request.headers.get("X-Registry-Auth", ""))
    client = registry_client(request)
    reference = parse(name)

    def fetch(session: Any) -> dict[str, Any]:
        target = reference.digest or reference.tag or "latest"
        body, ctype, digest = fetch_manifest(session, target, reference.familiar())
        doc = parse_manifest(body, ctype)
        platforms: list[dict[str, Any]] = []
        if isinstance(doc, Manifest):
            config = json.loads(fetch_config(session, doc.config))
            platforms.append({k: config[k] for k in ("architecture", "os", "variant") if config.get(k)})
        else:
            for m in json.loads(body).get("manifests") or []:
                p = m.get("platform") or {}
                if p:
                    platforms.append({k: v for k, v in p.items() if v})
        return {
            "Descriptor": {"mediaType": ctype, "digest": digest, "size": len(body)},
            "Platforms": platforms,
        }

    def look() -> dict[str, Any]:
        session, info = client._on_endpoints(
            reference, "pull", client.credentials_for(reference.domain, creds), fetch
        )
        session.close()
        return info

    return web.json_response(await asyncio.to_thread(look))


def routes() -> list[Route]:
    return [
        ("POST", "/images/create", create_image),
        ("POST", "/images/{name:.+}/push", push_image),
        ("POST", "/auth", auth),
        ("GET", "/distribution/{name:.+}/json", distribution_info),
    ]
