"""The daemon's own small HTTP/1.1 server on asyncio, with the names the route modules use.

parser    request head             body      Content-Length / chunked request bodies
messages  Request, Response, ...   router    paths, placeholders, the /v1.NN prefix
server    connections, listeners   websocket RFC 6455 for /containers/{id}/attach/ws
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from engine.api.web.messages import (
    AppKey,
    Application,
    Headers,
    Request,
    Response,
    StreamResponse,
    json_response,
)
from engine.api.web.router import HTTPException
from engine.api.web.server import Server

F = TypeVar("F", bound=Callable[..., Awaitable[StreamResponse]])


def middleware(f: F) -> F:
    """Marks `async def mw(request, handler)`; kept so middlewares read as they did."""
    return f


__all__ = [
    "AppKey",
    "Application",
    "HTTPException",
    "Headers",
    "Request",
    "Response",
    "Server",
    "StreamResponse",
    "json_response",
    "middleware",
]
