"""engine.api.web without a socket: the request-head parser, the router, the WebSocket handshake and
frame codec, the query and header types."""

from __future__ import annotations

import asyncio
import struct

import pytest

from engine.api.web import messages, websocket
from engine.api.web.parser import BadRequest, parse_head
from engine.api.web.router import HTTPException, Router


def test_parse_head_request_line_and_headers() -> None:
    head = parse_head(b"POST /v1.47/build?t=a&t=b HTTP/1.1\r\nHost: x\r\nX-Registry-Config: e30=\r\n\r\n")
    assert head.method == "POST" and head.target == "/v1.47/build?t=a&t=b" and head.version == (1, 1)
    assert head.headers == (("host", "x"), ("x-registry-config", "e30="))


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /x\r\n\r\n",
        b"GET x HTTP/1.1\r\n\r\n",
        b"GET /x HTTP/2.0\r\n\r\n",
        b"GET /x HTTP/1.1\r\nno colon here\r\n\r\n",
        b"G(T /x HTTP/1.1\r\n\r\n",
    ],
)
def test_parse_head_rejects_malformed(raw: bytes) -> None:
    with pytest.raises(BadRequest):
        parse_head(raw)


def test_headers_and_query() -> None:
    h = messages.RequestHeaders([("accept", "a"), ("x-a", "1"), ("x-a", "2")])
    assert h.get("Accept") == "a" and h["X-A"] == "1, 2" and "ACCEPT" in h and h.get("nope") is None
    q = messages.Query("t=a&t=b&q=&filters=%7B%7D")
    assert q["t"] == "a" and q.getall("t") == ["a", "b"] and q["q"] == "" and q["filters"] == "{}"
    assert q.getall("none", []) == [] and "q" in q
    r = messages.Headers({"Content-Type": "x"})
    r["content-type"] = "y"
    assert list(r.pairs()) == [("content-type", "y")] and r["CONTENT-TYPE"] == "y"


async def _h(request: messages.Request) -> messages.StreamResponse:
    return messages.Response()


async def _other(request: messages.Request) -> messages.StreamResponse:
    return messages.Response()


def test_router_static_patterns_versions_and_405() -> None:
    r = Router()
    r.add_route("POST", "/networks/create", _h)
    r.add_get("/networks/{id}", _other)
    r.add_route("DELETE", "/networks/{id}", _other)
    r.add_get("/images/{name:.+}/json", _h)
    r.add_get("/containers/json", _h, allow_head=False)
    assert r.resolve("POST", "/networks/create") == (_h, {})
    # a static path that lacks the method falls through to the patterns, as aiohttp's dispatcher did
    assert r.resolve("DELETE", "/networks/create") == (_other, {"id": "create"})
    assert r.resolve("GET", "/v1.41/images/reg:5000/a/b:1/json") == (
        _h,
        {"version": "1.41", "name": "reg:5000/a/b:1"},
    )
    assert r.resolve("HEAD", "/networks/n1")[1] == {"id": "n1"}
    for method, path, status in [
        ("GET", "/nothing", 404),
        ("GET", "/networks/a/b", 404),
        ("PUT", "/networks/n1", 405),
        ("HEAD", "/containers/json", 405),
    ]:
        with pytest.raises(HTTPException) as e:
            r.resolve(method, path)
        assert e.value.status == status


def test_websocket_handshake_accept_key() -> None:
    # the example of RFC 6455 section 1.3
    assert websocket.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    ok = messages.RequestHeaders(
        [
            ("upgrade", "websocket"),
            ("connection", "keep-alive, Upgrade"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ]
    )
    assert websocket.handshake("GET", ok)["Sec-WebSocket-Accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    with pytest.raises(websocket.HandshakeError):
        websocket.handshake("POST", ok)
    bad = messages.RequestHeaders([*((k, v) for k, v in ok.items() if k != "sec-websocket-version")])
    with pytest.raises(websocket.HandshakeError):
        websocket.handshake("GET", bad)


def _client_frame(opcode: int, payload: bytes, fin: bool = True, masked: bool = True) -> bytes:
    mask = b"\x01\x02\x03\x04"
    n = len(payload)
    first = bytes(((0x80 if fin else 0) | opcode,))
    bit = 0x80 if masked else 0
    size = bytes((bit | n,)) if n < 126 else bytes((bit | 126,)) + struct.pack("!H", n)
    if not masked:
        return first + size + payload
    return first + size + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _read(data: bytes) -> websocket.Frame:
    async def go() -> websocket.Frame:
        r = asyncio.StreamReader()
        r.feed_data(data)
        r.feed_eof()
        return await websocket.read_frame(r)

    return asyncio.run(go())


def test_frames_both_ways() -> None:
    assert _read(_client_frame(0x2, b"hello")) == websocket.Frame(True, 0x2, b"hello")
    big = bytes(range(256)) * 4
    assert _read(_client_frame(0x1, big, fin=False)) == websocket.Frame(False, 0x1, big)
    assert websocket.encode_frame(0x2, b"ab") == b"\x82\x02ab"
    assert websocket.encode_frame(0x2, b"x" * 300)[:4] == b"\x82\x7e\x01\x2c"
    assert websocket.encode_frame(0x2, b"x" * 70000)[:10] == b"\x82\x7f" + struct.pack("!Q", 70000)
    for bad in (
        _client_frame(0x2, b"x", masked=False),  # clients must mask
        _client_frame(0x9, b"x", fin=False),  # control frames are never fragmented
        _client_frame(0x3, b"x"),  # reserved opcode
        b"\xc2\x81" + b"\0" * 5,  # RSV1 without an extension
    ):
        with pytest.raises(websocket.ProtocolError):
            _read(bad)
