"""Write a tar as a stream of byte chunks (for HTTP responses) without holding file contents in memory."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from typing import BinaryIO

CHUNK = 1 << 20


class Sink:
    """A write-only file object whose contents are taken out in pieces as the tar is made."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def open_writer(sink: Sink) -> tarfile.TarFile:
    return tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT)  # type: ignore[call-overload]


def add_stream(tar: tarfile.TarFile, sink: Sink, info: tarfile.TarInfo, src: BinaryIO) -> Iterator[bytes]:
    """Add a regular file member whose `info.size` bytes come from `src`, yielding output as it grows.
    A source shorter than promised is padded with zeros (a file that shrank while being read)."""
    header = info.tobuf(tar.format, tar.encoding, tar.errors)
    out = tar.fileobj
    assert out is not None
    out.write(header)
    remaining = info.size
    while remaining:
        want = min(CHUNK, remaining)
        chunk = src.read(want) or bytes(want)
        out.write(chunk)
        remaining -= len(chunk)
        if data := sink.take():
            yield data
    out.write(bytes((-info.size) % tarfile.BLOCKSIZE))
    tar.offset += len(header) + info.size + (-info.size) % tarfile.BLOCKSIZE
    if data := sink.take():
        yield data


def add_bytes(tar: tarfile.TarFile, sink: Sink, name: str, data: bytes, mode: int = 0o644) -> bytes:
    import io

    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))
    return sink.take()


def add_dir(tar: tarfile.TarFile, sink: Sink, name: str) -> bytes:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    tar.addfile(info)
    return sink.take()
