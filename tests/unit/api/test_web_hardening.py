"""The HTTP layer against a hostile or careless client: ambiguous framing, chunk sizes that are not plain
hex or are absurd (refused as soon as the bad byte arrives), oversized heads, and slow clients that hold
only their own connection."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.unit.api.test_web_server import _response, _run

UPLOAD_CHUNKED = b"POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"


async def _refused(path: str, data: bytes, status: str = "400") -> str:
    """Send `data` and keep the connection open: the answer must come without more bytes or a close."""
    r, w = await asyncio.open_unix_connection(path)
    w.write(data)
    await w.drain()
    line, _, body = await asyncio.wait_for(_response(r), 3)
    assert line.split()[1] == status, (line, body)
    assert await asyncio.wait_for(r.read(), 3) == b""  # and then closed
    w.close()
    message = json.loads(body)["message"]
    assert "\n" not in message
    return str(message)


def test_transfer_encoding_and_content_length_together_are_refused() -> None:
    async def scenario(path: str, _: dict[str, asyncio.Event]) -> None:
        head = b"POST /upload HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        assert "both Transfer-Encoding and Content-Length" in await _refused(path, head + b"5\r\nhello")

    _run(scenario)


@pytest.mark.parametrize(
    "chunk",
    [b"zz", b"0x10\r\n", b"+5\r\n", b" 5\r\n", b"-1\r\n", b"1_0\r\n", b"FFFFFFFFFFFFFFFFFFFF", b"5\rX"],
)
def test_bad_chunk_sizes_are_refused_at_once(chunk: bytes) -> None:
    async def scenario(path: str, _: dict[str, asyncio.Event]) -> None:
        assert "chunk" in await _refused(path, UPLOAD_CHUNKED + chunk)

    _run(scenario)


def test_chunk_data_must_end_with_crlf() -> None:
    async def scenario(path: str, _: dict[str, asyncio.Event]) -> None:
        message = await _refused(path, UPLOAD_CHUNKED + b"5\r\nhelloXY")
        assert message == "chunk data not followed by CRLF"

    _run(scenario)


@pytest.mark.parametrize("length", [b"1e3", b"-1", b"99999999999999999999", b"5, 6", b"\xd9\xa3"])
def test_bad_content_lengths_are_refused(length: bytes) -> None:
    async def scenario(path: str, _: dict[str, asyncio.Event]) -> None:
        head = b"POST /upload HTTP/1.1\r\nContent-Length: " + length + b"\r\n\r\n"
        assert "content-length" in await _refused(path, head)

    _run(scenario)


def test_an_oversized_head_is_refused_before_it_ends() -> None:
    async def scenario(path: str, _: dict[str, asyncio.Event]) -> None:
        head = b"GET /hello HTTP/1.1\r\n" + b"X-Big: " + b"a" * (2 << 20)  # never terminated
        assert await _refused(path, head, "431") == "request header fields too large"

    _run(scenario)


def test_slow_clients_hold_only_their_own_connection() -> None:
    async def scenario(path: str, _: dict[str, asyncio.Event]) -> None:
        slow = []
        for partial in (
            b"GET /hel",  # a head that never ends
            b"POST /upload HTTP/1.1\r\nContent-Length: 1000\r\n\r\nsome",  # a body that never ends
            UPLOAD_CHUNKED + b"100\r\nabc",  # a chunk that never ends
        ):
            r, w = await asyncio.open_unix_connection(path)
            w.write(partial)
            await w.drain()
            slow.append(w)
        for _ in range(20):  # everyone else is served meanwhile, each on a connection of their own
            r, w = await asyncio.open_unix_connection(path)
            w.write(b"GET /hello HTTP/1.1\r\n\r\n")
            assert (await asyncio.wait_for(_response(r), 2))[2] == b"hello"
            w.close()
        for w in slow:
            w.close()

    _run(scenario)
