"""Detect and undo layer compression (gzip, zstd, bzip2, xz, or none) on a stream, by magic number."""

from __future__ import annotations

import bz2
import gzip
import lzma
from typing import BinaryIO, cast

import zstandard

from engine.images.digest import PrefixedReader, read_exact_prefix

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


def decompressed(kind: str, stream: BinaryIO) -> BinaryIO:
    if kind == "gzip":
        return cast(BinaryIO, gzip.GzipFile(fileobj=stream, mode="rb"))
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
