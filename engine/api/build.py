"""POST /build (the classic builder API `DOCKER_BUILDKIT=0 docker build` and `composer build` use) and
POST /build/prune. Decodes the query, unpacks the context, runs engine.build's Builder, streams its output."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from engine.api import web
from engine.api.backends import Backends, Route, backends
from engine.api.distribution import decode_registry_auth
from engine.api.jsonstream import JSONStream
from engine.api.params import qbool, qstr
from engine.errors import EngineError, InvalidParameter
from engine.images import reference

if TYPE_CHECKING:
    from engine.build.executor import BuildOptions
    from engine.registry import Credentials


def build_root(b: Backends) -> Path:
    return Path(b.config.data_root) / "build"


def _json_map(request: web.Request, name: str) -> dict[str, str]:
    raw = qstr(request, name)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidParameter(f"invalid {name}: not JSON") from None
    if not isinstance(value, dict):
        raise InvalidParameter(f"invalid {name}: expected a JSON object")
    # a null build-arg value means "take it from the environment": nothing to take here, so it is unset
    return {str(k): str(v) for k, v in value.items() if v is not None}


def _json_list(request: web.Request, name: str) -> list[str]:
    raw = qstr(request, name)
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidParameter(f"invalid {name}: not JSON") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidParameter(f"invalid {name}: expected a JSON list of strings")
    return value


def registry_config(header: str) -> dict[str, Credentials]:
    """X-Registry-Config: base64url JSON {registry: auth config}, the credentials for base-image pulls."""
    if not header.strip():
        return {}
    text = header.strip()
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        raise InvalidParameter("invalid X-Registry-Config header: not base64url-encoded JSON") from None
    if not isinstance(data, dict):
        raise InvalidParameter("invalid X-Registry-Config header: not a JSON object")
    out: dict[str, Credentials] = {}
    for key, entry in data.items():
        if isinstance(entry, dict):
            raw = base64.urlsafe_b64encode(json.dumps(entry).encode()).decode()
            creds = decode_registry_auth(raw)
            if creds:
                key = str(key)  # "host:port", "https://host:port" or "https://index.docker.io/v1/"
                host = urlsplit(key).netloc if "://" in key else key.split("/", 1)[0]
                out["docker.io" if host in ("index.docker.io", "registry-1.docker.io") else host] = creds
    return out


def options(request: web.Request) -> BuildOptions:
    from engine.build.executor import BuildOptions

    if qstr(request, "remote"):
        raise InvalidParameter("building from a remote context (git or URL) is not supported by this engine")
    return BuildOptions(
        dockerfile=qstr(request, "dockerfile") or "Dockerfile",
        tags=tuple(t for t in request.query.getall("t", []) if t),
        build_args=_json_map(request, "buildargs"),
        labels=_json_map(request, "labels"),
        target=qstr(request, "target"),
        no_cache=qbool(request, "nocache"),
        pull=qbool(request, "pull"),
        platform=qstr(request, "platform"),
        registry_auth=registry_config(request.headers.get("X-Registry-Config", "")),
        cache_from=tuple(_json_list(request, "cachefrom")),
    )


async def build(request: web.Request) -> web.StreamResponse:
    b = backends(request)
    opts = options(request)
    for tag in opts.tags:
        reference.parse_tagged(tag)  # a bad -t is a 400 before any work
    root = build_root(b)
    spool = root / "spool"
    spool.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=spool) as body:
        async for chunk in request.content.iter_chunked(1 << 20):
            body.write(chunk)
        body.seek(0)
        from engine.build.context import unpack

        ctx = await asyncio.to_thread(unpack, body, root / "contexts", opts.dockerfile)
    stream = JSONStream(request)
    quiet = qbool(request, "q")

    def emit(msg: dict[str, Any]) -> None:
        if quiet and "stream" in msg:
            return
        stream.emit(msg)

    async def work() -> None:
        image_id = await b.builder().build(ctx, opts, emit)
        if quiet:
            stream.emit({"stream": image_id + "\n"})

    def code(e: EngineError) -> int | None:
        from engine.build.executor import BuildError

        return e.code if isinstance(e, BuildError) else None

    try:
        return await stream.run(work, code)
    finally:
        await asyncio.to_thread(shutil.rmtree, ctx, True)


async def prune(request: web.Request) -> web.StreamResponse:
    """The classic builder keeps no cache beyond images; the step index is simply forgotten."""
    await asyncio.to_thread(backends(request).builder().prune)
    return web.json_response({"CachesDeleted": None, "SpaceReclaimed": 0})


def routes() -> list[Route]:
    return [("POST", "/build", build), ("POST", "/build/prune", prune)]
