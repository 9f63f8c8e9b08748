"""Decoding of query parameters and JSON bodies the way dockerd does, with one-line 400s."""

from __future__ import annotations

import json
from typing import Any

from engine.api import web
from engine.containers.gotypes import Number
from engine.errors import InvalidParameter
from engine.images.timefmt import timestamp_ns as timestamp_ns  # since/until, as the image filters parse them


def qbool(request: web.Request, name: str, default: bool = False) -> bool:
    """Docker's boolean query values: "", "0", "false", "no", "none" are false; present otherwise true."""
    if name not in request.query:
        return default
    return request.query[name].strip().lower() not in ("", "0", "false", "no", "none")


def qint(request: web.Request, name: str, default: int | None = None) -> int | None:
    raw = request.query.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidParameter(f"invalid value for {name}: {raw!r}") from None


def qstr(request: web.Request, name: str, default: str = "") -> str:
    return request.query.get(name, default)


def qfilters(request: web.Request) -> dict[str, tuple[str, ...]]:
    """`filters` as JSON: {"key": ["v", ...]} or the legacy {"key": {"v": true}}."""
    raw = request.query.get("filters", "")
    if not raw:
        return {}
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise InvalidParameter(f"invalid filter: {raw[:100]!r} is not JSON") from None
    if not isinstance(data, dict):
        raise InvalidParameter("invalid filter: expected a JSON object")
    out: dict[str, tuple[str, ...]] = {}
    for key, values in data.items():
        if isinstance(values, dict):
            out[key] = tuple(k for k, on in values.items() if on)
        elif isinstance(values, list):
            out[key] = tuple(str(v) for v in values)
        elif isinstance(values, str):
            out[key] = (values,)
        else:
            raise InvalidParameter(f"invalid filter {key!r}")
    return out


JSON_BODY_LIMIT = 32 << 20  # no API object comes near; a client cannot make the daemon buffer gigabytes


async def _read_limited(request: web.Request, limit: int) -> bytes:
    parts, size = [], 0
    while data := await request.content.read(1 << 16):
        size += len(data)
        if size > limit:
            raise InvalidParameter(f"invalid JSON: request body larger than {limit >> 20} MiB")
        parts.append(data)
    return b"".join(parts)


def _no_constant(name: str) -> Any:
    raise ValueError(f"invalid character {name[0]!r} looking for beginning of value")


def loads(raw: bytes | str) -> Any:
    """JSON as Go reads it: no NaN/Infinity, numbers that are not integers keep their text
    (gotypes.Number) for the type checks, and nesting too deep for the parser is a 400 like any other."""
    try:
        return json.loads(raw, parse_float=Number, parse_constant=_no_constant)
    except RecursionError:
        raise InvalidParameter("invalid JSON: exceeded max depth") from None
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
        raise InvalidParameter(f"invalid JSON: {e}") from None


async def json_body(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    raw = await _read_limited(request, JSON_BODY_LIMIT)
    if not raw.strip():
        if optional:
            return {}
        raise InvalidParameter("invalid JSON: request body is empty")
    data = loads(raw)
    if data is None and optional:
        return {}
    if not isinstance(data, dict):
        raise InvalidParameter("invalid JSON: expected an object")
    return data


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status, body=json.dumps(data).encode() + b"\n", content_type="application/json"
    )
