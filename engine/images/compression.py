"""Detect and undo layer compression (gzip, zstd, bzip2, xz, or none) on a stream, by magic number."""

from __future__ import annotations

import bz2
import gzip
import lzma
import zlib
from typing import Any, BinaryIO, cast

import zstandard

from engine.images.digest import CHUNK, PrefixedReader, read_exact_prefix

_MAGICS = (
    (b"\x1f\x8b", "gzip"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)


def sniff(stream: BinaryIO) -> tuple[str, BinaryIO]:
    """Return (compression name or "none", a stream that still starts at the first byte)."""
    head = read_exact_prefix(stream, 6)
    kind = next((name for magic, name in _MAGICS if head.startswith(magic)), "none")
    return kind, cast(BinaryIO, PrefixedReader(head, stream))


class _Gunzip:
    """gzip members (concatenated, zero padding between allowed) inflated in big steps inside zlib, which
    also checks each member's CRC and length. GzipFile's 8 KiB buffered reads cost several times more
    Python time per MiB, which shows in layer pulls."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._d: Any = zlib.decompressobj(31)  # None between members
        self._input = b""
        self._done = False

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            parts = []
            while chunk := self.read(CHUNK):
                parts.append(chunk)
            return b"".join(parts)
        while n and not self._done:
            if not self._input:
                self._input = self._stream.read(CHUNK)
                if not self._input:
                    if self._d is not None:
                        raise gzip.BadGzipFile("compressed layer ends before its end-of-stream marker")
                    self._done = True
                    break
            if self._d is None:
                self._input = self._input.lstrip(b"\0")
                if not self._input:
                    continue
                self._d = zlib.decompressobj(31)
            try:
                data = self._d.decompress(self._input, n)
            except zlib.error as exc:
                raise gzip.BadGzipFile(f"invalid gzip data: {exc}") from None
            self._input = self._d.unconsumed_tail
            if self._d.eof:
                self._input, self._d = self._d.unused_data, None
            if data:
                return data
        return b""

    def close(self) -> None:
        """The underlying stream belongs to the caller (as with GzipFile)."""


def decompressed(kind: str, stream: BinaryIO) -> BinaryIO:
    if kind == "gzip":
        return cast(BinaryIO, _Gunzip(stream))
    if kind == "zstd":
        return cast(BinaryIO, zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True))
    if kind == "bzip2":
        return cast(BinaryIO, bz2.BZ2File(stream))
    if kind == "xz":
        return cast(BinaryIO, lzma.LZMAFile(stream))
    return stream


class _Uncompressed:
    """A decompressing reader that closes the underlying stream too (GzipFile and friends do not)."""

    def __init__(self, reader: BinaryIO, raw: BinaryIO) -> None:
        self._reader = reader
        self._raw = raw

    def read(self, n: int = -1) -> bytes:
        return self._reader.read(n)

    def close(self) -> None:
        try:
            if self._reader is not self._raw:
                self._reader.close()
        finally:
            self._raw.close()

    def __enter__(self) -> _Uncompressed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_uncompressed(stream: BinaryIO) -> BinaryIO:
    """The uncompressed bytes of a possibly compressed stream; closing it closes `stream`."""
    kind, rewound = sniff(stream)
    return cast(BinaryIO, _Uncompressed(decompressed(kind, rewound), stream))
