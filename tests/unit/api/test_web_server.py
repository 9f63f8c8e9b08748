"""engine.api.web's server over a real unix socket, with a small app: keep-alive, request bodies by
Content-Length and chunked, chunked responses, HEAD, Docker's JSON errors, the hijack with a half-close,
and a streaming handler cancelled when its client goes away."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from engine.api import web
from engine.api.errors import error_middleware
from engine.api.hijack import hijack

Scenario = Callable[[str, dict[str, asyncio.Event]], Awaitable[None]]


async def _echo_size(request: web.Request) -> web.StreamResponse:
    digest, size = hashlib.sha256(), 0
    async for chunk in request.content.iter_chunked(1 << 16):
        digest.update(chunk)
        size += len(chunk)
    return web.json_response({"size": size, "sha256": digest.hexdigest(), "t": request.query.getall("t", [])})


async def _hello(request: web.Request) -> web.StreamResponse:
    return web.Response(body=b"hello", content_type="text/plain")


async def _stream(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    await resp.prepare(request)
    for i in range(3):
        await resp.write(json.dumps({"n": i}).encode() + b"\n")
    await resp.write_eof()
    return resp


def _forever(events: dict[str, asyncio.Event]) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b"started")
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            events["cancelled"].set()
            raise
        return resp

    return handler


async def _attach(request: web.Request) -> web.StreamResponse:
    await request.read()
    conn = await hijack(request, multiplexed=False)
    data = await conn.reader.read()  # to the client's half-close
    await conn.write(b"echo:" + data)
    conn.close()
    return conn.response


async def _boom(request: web.Request) -> web.StreamResponse:
    raise RuntimeError("kaboom")


@asynccontextmanager
async def _server() -> AsyncIterator[tuple[str, dict[str, asyncio.Event]]]:
    events = {"cancelled": asyncio.Event()}
    app = web.Application(middlewares=[error_middleware])
    app.router.add_route("POST", "/upload", _echo_size)
    app.router.add_get("/hello", _hello)
    app.router.add_get("/stream", _stream)
    app.router.add_get("/forever", _forever(events))
    app.router.add_route("POST", "/attach", _attach)
    app.router.add_get("/boom", _boom)
    server = web.Server(app)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "s.sock")
        await server.listen_unix(path, 0o660)
        try:
            yield path, events
        finally:
            await server.close()


def _run(scenario: Scenario) -> None:
    async def main() -> None:
        async with _server() as (path, events):
            await asyncio.wait_for(scenario(path, events), 20)

    asyncio.run(main())


async def _response(reader: asyncio.StreamReader, method: str = "GET") -> tuple[str, dict[str, str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    lines = head.split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
    body = b""
    if method == "HEAD" or lines[0].split()[1] in ("204", "304"):
        pass
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n"))[:-2], 16)
            data = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += data[:-2]
    else:
        body = await reader.read()
    return lines[0], headers, body


def test_keep_alive_content_length_and_chunked_uploads() -> None:
    async def scenario(path: str, _: dict[str, asyncio.Event]) -> None:
        r, w = await asyncio.open_unix_connection(path)
        payload = os.urandom(3 << 20)  # larger than the read buffer: the socket is paused and resumed
        w.write(b"POST /upload?t=a&t=b HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(payload) + payload)
        status, _, body = await _response(r)
        want = {"size": len(payload), "sha256": hashlib.sha256(payload).hexdigest(), "t": ["a", "b"]}
        assert status == "HTTP/1.1 200 OK" and json.loads(body) == want
        # the same connection, now chunked, in pieces with an extension and a trailer
        w.write(b"POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n")
        await w.drain()
        w.write(b"6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
        status, _, body = await _response(r)
        assert json.loads(body)["size"] == 11
        assert json.loads(body)["sha256"] == hashlib.sha256(b"hello world").hexdigest()
        # a request whose body the handler never reads: drained, the next request still parses
        w.write(b"GET /hello HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /hello HTTP/1.1\r\n\r\n")
        assert (await _response(r))[2] == b"hello" and (await _response(r))[2] == b"hello"
        w.close()

    _run(scenario)


def test_head_streams_http10_expect_and_errors() -> None:
    async def scenario(path: str, _: dict[str, asyncio.Event]) -> None:
        r, w = await asyncio.open_unix_connection(path)
        w.write(b"HEAD /hello HTTP/1.1\r\n\r\nGET /stream HTTP/1.1\r\n\r\n")
        status, headers, body = await _response(r, "HEAD")
        assert status == "HTTP/1.1 200 OK" and headers["content-length"] == "5" and body == b""
        status, headers, body = await _response(r)
        assert headers["transfer-encoding"] == "chunked"
        assert [json.loads(x) for x in body.splitlines()] == [{"n": 0}, {"n": 1}, {"n": 2}]
        for path_, status_, message in [
            ("/nope", "404", "page not found"),
            ("/boom", "500", "internal error: kaboom"),
        ]:
            w.write(f"GET {path_} HTTP/1.1\r\n\r\n".encode())
            status, headers, body = await _response(r)
            assert status.split()[1] == status_ and json.loads(body) == {"message": message}
        w.write(b"PUT /hello HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
        assert json.loads((await _response(r))[2]) == {"message": "method PUT not allowed"}
        w.write(b"POST /upload HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
        assert await r.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
        w.write(b"hi")
        assert json.loads((await _response(r))[2])["size"] == 2
        w.close()
        # HTTP/1.0: no chunking, the body ends with the connection
        r, w = await asyncio.open_unix_connection(path)
        w.write(b"GET /stream HTTP/1.0\r\n\r\n")
        status, headers, body = await _response(r)
        assert headers["connection"] == "close" and body.count(b"\n") == 3
        w.close()
        # garbage: one 400 line, then the connection is closed
        r, w = await asyncio.open_unix_connection(path)
        w.write(b"NOT HTTP\r\n\r\n")
        status, _, body = await _response(r)
        assert status.startswith("HTTP/1.1 400") and "malformed" in json.loads(body)["message"]
        assert await r.read() == b""
        w.close()

    _run(scenario)


def test_hijack_keeps_sending_after_the_client_half_closes() -> None:
    async def scenario(path: str, _: dict[str, asyncio.Event]) -> None:
        loop = asyncio.get_running_loop()
        s = socket.socket(socket.AF_UNIX)
        s.setblocking(False)
        await loop.sock_connect(s, path)
        # the bytes after the head arrive in the same packet: they belong to the raw stream
        req = b"POST /attach HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"
        await loop.sock_sendall(s, req + b"stdin-bytes")
        s.shutdown(socket.SHUT_WR)  # stdin EOF
        got = b""
        while chunk := await loop.sock_recv(s, 4096):
            got += chunk
        s.close()
        head, _, rest = got.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101 UPGRADED") and b"Upgrade: tcp" in head
        assert rest == b"echo:stdin-bytes"

    _run(scenario)


def test_a_streaming_handler_is_cancelled_when_its_client_goes_away() -> None:
    async def scenario(path: str, events: dict[str, asyncio.Event]) -> None:
        r, w = await asyncio.open_unix_connection(path)
        w.write(b"GET /forever HTTP/1.1\r\n\r\n")
        await r.readuntil(b"started")
        w.close()
        await w.wait_closed()
        await asyncio.wait_for(events["cancelled"].wait(), 5)

    _run(scenario)
