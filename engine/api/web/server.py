"""One HTTP/1.1 connection: read a request head, run the handler through the middlewares, send the
response, and again while the client keeps the connection alive; plus the unix socket listeners.

Why our own: the daemon's idle memory (aiohttp pulled its whole client in) and Docker's hijack, where
the connection stops being HTTP. A handler takes the connection over with `hijack_head`; then it owns
the socket until it returns.

Client disconnects: a streaming response (events, logs -f, stats) may wait long between writes, so when
the peer is gone the handler's task is cancelled. A half-close (the peer shut down only its sending
side: stdin EOF on a hijacked connection) is not a disconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import socket
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from engine.api.web import tls
from engine.api.web.body import Body
from engine.api.web.messages import (
    Application,
    Headers,
    Request,
    RequestHeaders,
    Response,
    StreamResponse,
)
from engine.api.web.parser import BadRequest, parse_head
from engine.api.web.router import HTTPException

log = logging.getLogger(__name__)

HEAD_LIMIT = 1 << 20  # request head (X-Registry-Auth/-Config headers can be large); also the read buffer
KEEPALIVE_TIMEOUT = 75.0
MAX_LENGTH_DIGITS = 13  # Content-Length up to ~9 TB
SHUTDOWN_GRACE = 1.0
LINGER = 0.5  # after an error answer, how long the client's further bytes are read and dropped
_NO_BODY = frozenset((204, 304))


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def peer_gone(transport: asyncio.BaseTransport) -> bool:
    """After EOF: did the peer close both directions (POLLHUP), or only its sending side?"""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return False
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLHUP)
    return any(ev & select.POLLHUP for _, ev in poller.poll(0))


def _keep_alive(request: Request) -> bool:
    """HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 only when asked to keep it."""
    token = str(request.headers.get("connection", "")).lower()
    return token != "close" if request.version >= (1, 1) else token == "keep-alive"


class Connection(asyncio.Protocol):
    def __init__(self, app: Application, server: Server) -> None:
        self.app = app
        self._server = server
        self.transport: asyncio.Transport | None = None
        self.reader = asyncio.StreamReader(limit=HEAD_LIMIT)
        self.closed = asyncio.Event()
        self.hijacked = False
        self._can_write = asyncio.Event()
        self._can_write.set()
        self._task: asyncio.Task[None] | None = None
        self._busy = False  # inside a handler
        self._streaming = False  # a prepared StreamResponse is being written: cancel the handler on loss
        self._idle_timer: asyncio.TimerHandle | None = None
        self._started: StreamResponse | None = None  # the response started for the current request

    # ---- asyncio.Protocol ----
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.reader.set_transport(transport)  # the reader pauses the socket when its buffer is full
        self._server.connections.add(self)
        self._task = asyncio.get_running_loop().create_task(self._serve())

    def data_received(self, data: bytes) -> None:
        self.reader.feed_data(data)

    def eof_received(self) -> bool:
        self.reader.feed_eof()
        # keep our sending side open on a half-close; close when the peer is gone altogether. TCP can't
        # tell the two apart: there EOF outside a hijack means gone (as Go's server takes it).
        if self.transport is None:
            return False
        sock = self.transport.get_extra_info("socket")
        if sock is None or sock.family != socket.AF_UNIX:
            return self.hijacked
        return not peer_gone(self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.reader.feed_eof()
        self.closed.set()
        self._can_write.set()
        self._server.connections.discard(self)
        if self._task is not None and (not self._busy or (self._streaming and not self.hijacked)):
            self._task.cancel()

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    # ---- sending ----
    async def send(self, data: bytes) -> None:
        """Write with backpressure; ConnectionResetError once the client is gone."""
        t = self.transport
        if t is None or t.is_closing() or self.closed.is_set():
            raise ConnectionResetError("client went away")
        t.write(data)
        if not self._can_write.is_set():
            await self._can_write.wait()
            if self.closed.is_set():
                raise ConnectionResetError("client went away")

    def start_response(self, resp: StreamResponse, request: Request, body: bytes | None) -> str:
        """Write the status line and headers (and a whole `body`). Returns how the body that follows is
        framed: "chunked", "raw" (ends with the connection or Content-Length) or "none" (HEAD, 204, 304)."""
        if self._started is not None:
            raise RuntimeError("a response was already started for this request")
        self._started = resp
        mode = "raw"
        headers = resp.headers
        no_body = resp.status in _NO_BODY or request.method == "HEAD"
        if not _keep_alive(request):
            resp.keep_alive = False
        if body is not None:
            if resp.status not in _NO_BODY:
                headers["Content-Length"] = str(len(body))
        elif resp.status not in _NO_BODY and "Content-Length" not in headers:
            if request.version >= (1, 1):
                headers["Transfer-Encoding"] = "chunked"
                mode = "chunked"
            else:
                resp.keep_alive = False  # HTTP/1.0: the body ends when the connection does
        if not resp.keep_alive:
            headers["Connection"] = "close"
        if resp.status in _NO_BODY:
            self._streaming = False
        else:
            self._streaming = body is None
        head = self._head(resp.status, resp.reason, headers)
        if body and not no_body:
            head += body
        self._write_now(head)
        return "none" if no_body else mode

    def hijack_head(self, status: int, reason: str, headers: Headers) -> None:
        """Send a head that ends HTTP on this connection: the handler now owns the socket."""
        self.hijacked = True
        self._write_now(self._head(status, reason, headers))

    def _write_now(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionResetError("client went away")
        self.transport.write(data)

    @staticmethod
    def _head(status: int, reason: str | None, headers: Headers) -> bytes:
        lines = [f"HTTP/1.1 {status} {reason or _reason(status)}"]
        lines.extend(f"{k}: {v}" for k, v in headers.pairs())
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    # ---- the request loop ----
    async def _serve(self) -> None:
        try:
            while await self._one():
                pass
        except asyncio.CancelledError:
            pass
        except (ConnectionError, OSError) as e:
            log.debug("connection ended error=%s", e)
        except Exception:
            log.exception("connection failed")
        finally:
            self._cancel_idle_timer()
            self.close()

    async def _one(self) -> bool:
        """Serve one request; False when the connection is done."""
        loop = asyncio.get_running_loop()
        self._idle_timer = loop.call_later(KEEPALIVE_TIMEOUT, self.close)
        try:
            raw = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False  # closed between requests
        except asyncio.LimitOverrunError:
            await self._reject(431, "request header fields too large")
            return False
        finally:
            self._cancel_idle_timer()
        try:
            head = parse_head(raw)
            request = self._request(head.method, head.target, head.version, RequestHeaders(head.headers))
        except BadRequest as e:
            await self._reject(400, str(e))
            return False
        if request.headers.get("expect", "").lower() == "100-continue":
            self._write_now(b"HTTP/1.1 100 Continue\r\n\r\n")
        self._busy = True
        self._started = None
        try:
            resp = await self._dispatch(request)
            if self.hijacked:
                return False
            started = self._started
            if started is not None and resp is not started:
                # the handler failed after it began streaming: end that body; the error can't be sent
                await started.write_eof()
                return False
            if not resp.prepared:
                await resp.prepare(request)
            if not resp.finished:
                await resp.write_eof()
            self._streaming = False
            if not resp.keep_alive and not request.content.at_eof():
                await self._linger()  # refused inside its body (bad chunk): the client may still be sending
            if not resp.keep_alive or self.reader.at_eof():
                return False
            await request.content.drain()
        except BadRequest as e:
            log.info("bad request body error=%s", e)
            return False
        finally:
            self._busy = False
        return True

    def _request(
        self, method: str, target: str, version: tuple[int, int], headers: RequestHeaders
    ) -> Request:
        path, _, query = target.partition("?")
        te = headers.get("transfer-encoding", "").lower()
        length: int | None = None
        if te and "content-length" in headers:
            # which one frames the body? A proxy in front may think the other: request smuggling
            raise BadRequest("both Transfer-Encoding and Content-Length")
        if te:
            if te != "chunked":
                raise BadRequest(f"unsupported transfer-encoding {te[:40]!r}")
        elif "content-length" in headers:
            raw = headers["content-length"]
            if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_LENGTH_DIGITS):
                raise BadRequest(f"bad content-length {raw[:20]!r}")
            length = int(raw)
        body = Body(self.reader, length, chunked=te == "chunked")
        if "%" in path:
            path = unquote(path)
        return Request(self.app, self, method, path, query.partition("#")[0], version, headers, body)

    async def _dispatch(self, request: Request) -> StreamResponse:
        """Route first (middlewares see match_info), then run the handler inside the middlewares;
        a 404/405 is raised inside them too, so the error middleware words it."""
        handler: Handler
        try:
            handler, info = self.app.router.resolve(request.method, request.path)
            request.match_info.update(info)
        except HTTPException as e:
            handler = _raiser(e)
        for mw in reversed(self.app.middlewares):
            handler = _bind(mw, handler)
        return await handler(request)

    async def _reject(self, status: int, message: str) -> None:
        import json

        body = json.dumps({"message": message}).encode() + b"\n"
        headers = Headers(
            {"Content-Type": "application/json", "Content-Length": str(len(body)), "Connection": "close"}
        )
        with contextlib.suppress(ConnectionError):
            self._write_now(self._head(status, None, headers) + body)
        await self._linger()

    async def _linger(self) -> None:
        """After refusing a request: stop sending, then read and drop what the client still sends, for a
        moment, so that closing does not reset the connection before the client has read the answer."""
        if self.transport is None or self.transport.is_closing():
            return
        with contextlib.suppress(OSError, RuntimeError):
            self.transport.write_eof()
        with contextlib.suppress(TimeoutError, ConnectionError, asyncio.LimitOverrunError):
            async with asyncio.timeout(LINGER):
                while await self.reader.read(1 << 16):
                    pass

    def _cancel_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    async def shutdown(self) -> None:
        """Daemon stop: an idle connection closes now; a busy one gets a grace period, then is cancelled."""
        if not self._busy:
            self.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._task), SHUTDOWN_GRACE)
            if not self._task.done():
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        self.close()


Handler = Callable[[Request], Awaitable[StreamResponse]]
Middleware = Callable[[Request, Handler], Awaitable[StreamResponse]]


def _raiser(exc: HTTPException) -> Handler:
    async def call(req: Request) -> StreamResponse:
        raise exc

    return call


def _bind(mw: Middleware, inner: Handler) -> Handler:
    async def call(req: Request) -> StreamResponse:
        return await mw(req, inner)

    return call


class Server:
    """The listeners (unix sockets) and the connections they accepted."""

    def __init__(self, app: Application) -> None:
        self.app = app
        self.connections: set[Connection] = set()
        self._servers: list[asyncio.AbstractServer] = []

    async def listen_unix(self, path: str, mode: int) -> None:
        """Listen on `path` (replacing a stale socket file) and set its mode before the first client."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(path)
            os.chmod(path, mode)
            sock.listen(128)
        except BaseException:
            sock.close()
            raise
        loop = asyncio.get_running_loop()
        self._servers.append(await loop.create_unix_server(lambda: Connection(self.app, self), sock=sock))

    async def listen_socket(self, sock: socket.socket, ssl: Any = None) -> None:
        """Serve a socket someone else made and bound (systemd socket activation: unix or tcp); `ssl`: TLS
        for a tcp one, as on the engine's own tcp listeners."""
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        factory = lambda: Connection(self.app, self)  # noqa: E731
        if sock.family == socket.AF_UNIX:
            self._servers.append(await loop.create_unix_server(factory, sock=sock))
        elif ssl is not None:
            self._servers.append(await asyncio.start_server(tls.relay(ssl, self._serve_local), sock=sock))
        else:
            self._servers.append(await loop.create_server(factory, sock=sock))

    async def _serve_local(self, sock: socket.socket) -> None:
        """The decrypted end of a TLS connection, served as a local socket."""
        await asyncio.get_running_loop().connect_accepted_socket(
            lambda: Connection(self.app, self), sock=sock
        )

    async def listen_tcp(self, host: str, port: int, ssl: Any = None) -> None:
        """`ssl`: an ssl.SSLContext for TLS (the engine's --tls/--tlsverify), None for plain HTTP."""
        loop = asyncio.get_running_loop()
        if ssl is None:
            self._servers.append(await loop.create_server(lambda: Connection(self.app, self), host, port))
            return
        self._servers.append(await asyncio.start_server(tls.relay(ssl, self._serve_local), host, port))

    async def close(self) -> None:
        for s in self._servers:
            s.close()
        await asyncio.gather(*(c.shutdown() for c in list(self.connections)), return_exceptions=True)
        for s in self._servers:
            with contextlib.suppress(Exception):
                await s.wait_closed()
        self._servers.clear()


__all__ = ["Connection", "Server", "Response", "peer_gone"]
