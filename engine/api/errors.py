"""The one table from engine error kinds to HTTP, and the middleware that answers Docker's JSON errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from engine import errors
from engine.api import web
from engine.api.web.parser import BadRequest

log = logging.getLogger(__name__)

# Kind -> HTTP status, the only place the engine's error kinds meet HTTP. A kind's subclasses (the
# registry's Unauthorized, the builder's BuildError) answer with their nearest listed ancestor's status.
STATUS: dict[type[errors.EngineError], int] = {
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.InvalidParameter: 400,
    errors.NotModified: 304,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.Unavailable: 503,
    errors.Cancelled: 499,  # nginx's "client closed request": the client is gone and never reads it
    errors.SystemError_: 500,
    errors.EngineError: 500,
}


def status_of(err: errors.EngineError) -> int:
    for kind in type(err).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    raise AssertionError("unreachable: EngineError is in the table")


def error_response(status: int, message: str) -> web.Response:
    if status == 304:  # a 304 carries no body
        return web.Response(status=304)
    return web.Response(
        status=status, body=json.dumps({"message": message}).encode() + b"\n", content_type="application/json"
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except errors.EngineError as e:
        status = status_of(e)
        if status >= 500:
            log.error("request failed method=%s path=%s error=%s", request.method, request.path, e.message)
        return error_response(status, e.message)
    except BadRequest as e:  # the body's framing broke: answer at once and close, the rest is unreadable
        resp = error_response(400, str(e))
        resp.keep_alive = False
        return resp
    except web.HTTPException as e:
        if e.status in (404, 405):
            msg = "page not found" if e.status == 404 else f"method {request.method} not allowed"
            return error_response(e.status, msg)
        raise
    except (ConnectionResetError, BrokenPipeError):
        raise
    except Exception as e:  # the last line of defence: one JSON line, the traceback only in the log
        log.exception("unhandled error method=%s path=%s", request.method, request.path)
        return error_response(500, f"internal error: {e}")
