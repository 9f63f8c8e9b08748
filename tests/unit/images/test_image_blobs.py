from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from engine.errors import InvalidParameter, NotFound
from engine.images.blobs import BlobStore
from engine.images.digest import sha256_bytes


def test_write_verifies_and_stores(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    digest, size = store.write(b"hello", sha256_bytes(b"hello"))
    assert (digest, size) == (sha256_bytes(b"hello"), 5)
    assert store.blob_path(digest).read_bytes() == b"hello"
    assert store.has(digest) and store.size(digest) == 5
    # a stream works the same, and writing known content again is harmless
    assert store.write(io.BytesIO(b"hello"))[0] == digest


def test_mismatch_leaves_nothing(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    wrong = sha256_bytes(b"other")
    with pytest.raises(InvalidParameter, match="digest mismatch"):
        store.write(io.BytesIO(b"hello" * 1000), wrong)
    assert os.listdir(tmp_path / "blobs" / "sha256") == []
    assert os.listdir(tmp_path / "ingest") == []
    assert not store.has(wrong)


@pytest.mark.parametrize("bad", ["sha256:xyz", "md5:" + "a" * 32, "sha256:" + "A" * 64, "../etc/passwd"])
def test_malformed_digests(tmp_path: Path, bad: str) -> None:
    store = BlobStore(tmp_path)
    with pytest.raises(InvalidParameter):
        store.blob_path(bad)
    with pytest.raises(InvalidParameter):
        store.write(b"x", bad)
    assert os.listdir(tmp_path / "ingest") == []


def test_resumable_writer(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = os.urandom(3000)
    first = store.writer("pull-abc")
    first.write(data[:1000])
    first.close()  # interrupted: partial content kept under its ref
    second = store.writer("pull-abc")
    assert second.offset == 1000
    second.write(data[1000:])
    assert second.commit(sha256_bytes(data), len(data)) == (sha256_bytes(data), 3000)
    assert store.read(sha256_bytes(data)) == data
    assert os.listdir(tmp_path / "ingest") == []


def test_missing_blob(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with pytest.raises(NotFound):
        store.read("sha256:" + "0" * 64)
    store.delete("sha256:" + "0" * 64)  # deleting what is gone is fine
