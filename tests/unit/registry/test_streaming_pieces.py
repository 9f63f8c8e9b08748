"""The pieces of a streamed layer pull: the verified download reader and the gzip reader it feeds."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
from pathlib import Path

import pytest

from engine.images.blobs import BlobStore
from engine.images.compression import decompressed
from engine.registry.download import VerifiedDownload
from engine.registry.errors import Cancelled, DigestMismatch


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _reader(
    store: BlobStore, data: bytes, digest: str, calls: list[str], cancel: bool = False
) -> VerifiedDownload:
    chunks = iter([data[i : i + 1000] for i in range(0, len(data), 1000)])

    def check() -> None:
        if cancel:
            raise Cancelled("pull cancelled")

    return VerifiedDownload(chunks, store.writer(), digest, lambda: calls.append("verified"), check)


def test_blob_is_committed_before_eof_is_reported(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = os.urandom(5000)
    calls: list[str] = []
    reader = _reader(store, data, _digest(data), calls)
    got = b""
    while chunk := reader.read(333):
        assert not store.has(_digest(data))  # not before the last byte was hashed
        got += chunk
    assert got == data and reader.done and calls == ["verified"]
    assert store.read(_digest(data)) == data
    assert list((tmp_path / "ingest").iterdir()) == []


def test_mismatch_raises_at_the_end_and_stores_nothing(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = os.urandom(3000)
    reader = _reader(store, data, _digest(b"other"), [])
    with pytest.raises(DigestMismatch, match="verification failed"):
        reader.read()
    reader.abort()
    assert store.digests() == [] and list((tmp_path / "ingest").iterdir()) == []


def test_cancel_noticed_at_the_end_stores_nothing(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = os.urandom(1000)
    reader = _reader(store, data, _digest(data), [], cancel=True)
    assert reader.read(5000) == data
    with pytest.raises(Cancelled):
        reader.read(1)
    reader.abort()
    assert store.digests() == [] and list((tmp_path / "ingest").iterdir()) == []


def test_gunzip_reads_members_padding_and_refuses_truncation_and_junk() -> None:
    data = os.urandom(300_000) + b"a" * 100_000
    blob = gzip.compress(data[:1000]) + b"\0\0\0" + gzip.compress(data[1000:], 6) + b"\0" * 10
    reader = decompressed("gzip", io.BytesIO(blob))
    out = b""
    while chunk := reader.read(70_000):
        out += chunk
    assert out == data
    assert decompressed("gzip", io.BytesIO(blob)).read() == data
    with pytest.raises(gzip.BadGzipFile, match="ends before"):
        decompressed("gzip", io.BytesIO(blob[:-2000])).read()
    with pytest.raises(gzip.BadGzipFile, match="invalid gzip data"):
        decompressed("gzip", io.BytesIO(blob + b"junk")).read()
    flipped = bytearray(gzip.compress(data))
    flipped[-6] ^= 0xFF  # the CRC32 in the trailer
    with pytest.raises(gzip.BadGzipFile):
        decompressed("gzip", io.BytesIO(bytes(flipped))).read()
