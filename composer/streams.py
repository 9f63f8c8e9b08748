"""Reading the Engine API's streamed replies: newline-separated JSON messages (pull, push, build, events),
the multiplexed stdout/stderr frames of logs and exec, and the path stat header of archives. A `Stream`
owns the connection its reply came on."""

from __future__ import annotations

import _socket
import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping

from composer._typecheck import TYPE_CHECKING
from composer.transport import Response

if TYPE_CHECKING:
    from typing import Any


class Stream:
    """A streaming reply as an iterator (of chunks, frames' payloads or decoded JSON messages) that owns
    its connection: `close()` (or the end of the stream) closes it."""

    def __init__(self, reply: Response, items: Iterator[Any]) -> None:
        self._reply = reply
        self._items = items

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        try:
            return next(self._items)
        except StopIteration:
            self.close()
            raise
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        conn = self._reply.conn
        if conn.sock is not None:
            with contextlib.suppress(OSError):  # wakes a reader blocked in recv on another thread
                conn.sock.shutdown(_socket.SHUT_RDWR)
        conn.close()


def json_messages(chunks: Iterable[bytes]) -> Iterator[Any]:
    """Decoded JSON values from a stream of them (newline-separated, split anywhere by the transport)."""
    decoder = json.JSONDecoder()
    pending = ""
    for chunk in chunks:
        pending += chunk.decode(errors="replace")
        while True:
            text = pending.lstrip()
            if not text:
                pending = ""
                break
            try:
                value, end = decoder.raw_decode(text)
            except ValueError:
                pending = text  # an incomplete value: wait for more
                break
            yield value
            pending = text[end:]
    if pending.strip():
        yield json.loads(pending)


def log_payloads(reply: Response) -> Iterator[bytes]:
    chunks = reply.chunks()
    pending = b""
    for chunk in chunks:
        pending += chunk
        if len(pending) >= 8:
            break
    if not (len(pending) >= 8 and pending[0] in (0, 1, 2) and pending[1:4] == b"\0\0\0"):
        if pending:
            yield pending
        yield from chunks
        return
    while True:
        while len(pending) >= 8:
            size = int.from_bytes(pending[4:8], "big")
            if len(pending) < 8 + size:
                break
            yield pending[8 : 8 + size]
            pending = pending[8 + size :]
        more = next(chunks, None)
        if more is None:
            return
        pending += more


def path_stat(headers: Mapping[str, str]) -> dict[str, Any]:
    value = headers.get("x-docker-container-path-stat", "")
    if not value:
        return {}
    import base64  # only here: ~0.5 ms of every command's start otherwise

    return dict(json.loads(base64.b64decode(value)))
