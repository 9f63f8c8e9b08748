"""Content-addressed blobs under `<root>/blobs/sha256/<hex>`.

Every write streams to a temp file in `<root>/ingest/`, hashing as it goes, then fsyncs and renames into
place: a blob path either holds verified content or does not exist. A digest mismatch leaves nothing behind.
Writers are keyed by an optional `ref` so a registry client can resume an interrupted download: the bytes
already in `ingest/<ref>` are re-hashed and the caller continues from `writer.offset`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
from pathlib import Path
from typing import BinaryIO

from engine.errors import InvalidParameter, NotFound
from engine.images.digest import CHUNK, check_digest

log = logging.getLogger(__name__)

_REF_RE = re.compile(r"^[A-Za-z0-9._-]{1,200}$")


class BlobWriter:
    """An in-progress blob: write() bytes, then commit(expected) or abort()."""

    def __init__(self, store: BlobStore, path: Path, resume: bool) -> None:
        self._store = store
        self._path = path
        self._hash = hashlib.sha256()
        self.offset = 0
        if resume and path.exists():
            with open(path, "rb") as f:
                while chunk := f.read(CHUNK):
                    self._hash.update(chunk)
                    self.offset += len(chunk)
            self._file = open(path, "ab")  # noqa: SIM115 - closed in commit/abort
        else:
            self._file = open(path, "wb")  # noqa: SIM115 - closed in commit/abort
        self._done = False

    def write(self, data: bytes) -> int:
        self._file.write(data)
        self._hash.update(data)
        self.offset += len(data)
        return len(data)

    def copy_from(self, stream: BinaryIO) -> None:
        while chunk := stream.read(CHUNK):
            self.write(chunk)

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()

    def commit(
        self, expected: str | None = None, expected_size: int | None = None, *, durable: bool = True
    ) -> tuple[str, int]:
        """Verify, fsync and move into the store; returns (digest, size). Idempotent for existing blobs.

        durable=False skips both fsyncs, for a blob whose loss in a power cut is no worse than the loss of
        what is built from it (a pulled layer's source: its unpacked files are not fsynced either). The
        rename is still atomic for every process, so a daemon killed at any point sees the whole verified
        blob or none: only the kernel's unwritten page cache, lost with the machine, is at stake."""
        digest, size = self.digest, self.offset
        try:
            if expected is not None and expected != digest:
                check_digest(expected)
                raise InvalidParameter(f"digest mismatch: expected {expected}, got {digest}")
            if expected_size is not None and expected_size != size:
                raise InvalidParameter(f"size mismatch for {digest}: expected {expected_size}, got {size}")
            self._file.flush()
            if durable:
                os.fsync(self._file.fileno())
            self._file.close()
            final = self._store.blob_path(digest)
            os.chmod(self._path, 0o644)
            os.rename(self._path, final)
            if durable:
                self._store.sync_dir()
        except BaseException:
            self.abort()
            raise
        self._done = True
        log.debug("blob committed digest=%s size=%d", digest, size)
        return digest, size

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self._path.unlink(missing_ok=True)
        self._done = True

    def close(self) -> None:
        """Keep partial content for a later resume (only meaningful with a ref)."""
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done:
            self.abort()


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._dir = root / "blobs" / "sha256"
        self._ingest = root / "ingest"
        self._dir.mkdir(parents=True, exist_ok=True)
        self._ingest.mkdir(parents=True, exist_ok=True)

    def blob_path(self, digest: str) -> Path:
        return self._dir / check_digest(digest)

    def has(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def size(self, digest: str) -> int:
        try:
            return self.blob_path(digest).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found") from None

    def read(self, digest: str) -> bytes:
        try:
            return self.blob_path(digest).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found") from None

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self.blob_path(digest), "rb")
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found") from None

    def writer(self, ref: str | None = None) -> BlobWriter:
        """A new writer; with `ref`, resumes the partial ingest of that name if one exists."""
        if ref is not None and not _REF_RE.match(ref):
            raise InvalidParameter(f"invalid ingest reference: {ref!r}")
        name = ref if ref is not None else f"tmp-{secrets.token_hex(8)}"
        return BlobWriter(self, self._ingest / name, resume=ref is not None)

    def write(self, data: bytes | BinaryIO, expected: str | None = None) -> tuple[str, int]:
        if expected is not None:
            check_digest(expected)
        with self.writer() as w:
            if isinstance(data, bytes | bytearray | memoryview):
                w.write(bytes(data))
            else:
                w.copy_from(data)
            return w.commit(expected)

    def delete(self, digest: str) -> None:
        self.blob_path(digest).unlink(missing_ok=True)

    def digests(self) -> list[str]:
        return ["sha256:" + p.name for p in self._dir.iterdir()]

    def sync_dir(self) -> None:
        fd = os.open(self._dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
