"""Layers: each unpacked once, by diff_id, into `<root>/layers/<hex>/diff`, shared by images and containers.

`<root>/l/<short>` symlinks to each diff dir keep overlay's mount options short with many layers (the
kernel takes one page of options). The bytes a layer arrived as are kept as a blob (its "source"), so
`save` and `push` can reproduce the exact tar whose sha256 is the diff_id.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from engine.errors import InvalidParameter, NotFound, SystemError_
from engine.images import compression
from engine.images.blobs import BlobStore
from engine.images.digest import HashingReader, check_digest
from engine.images.unpack import rmtree, unpack
from engine.util.atomic import atomic_write_json, read_json

log = logging.getLogger(__name__)

# A layer just added is not garbage until an image could have been made from it (a pull or build in
# progress adds layers first, the image last); like containerd's leases, held in memory.
LEASE_SECONDS = 3600.0


@dataclass(frozen=True)
class Layer:
    """A layer of the store: its diff id, size and where its files are."""

    diff_id: str
    size: int
    link: str                   # short name under <root>/l/
    sources: tuple[str, ...]    # blob digests this layer arrived as (compressed or plain)
    path: Path                  # the diff directory (overlay lower dir)
    tar_size: int = 0           # length of the uncompressed tar (what `save` writes)


class _Tee:
    """Reads from a stream and copies every byte into a blob writer."""

    def __init__(self, stream: BinaryIO, sink: object) -> None:
        self._stream = stream
        self._sink = sink

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        if data:
            self._sink.write(data)  # type: ignore[attr-defined]
        return data


def chain_ids(diff_ids: Sequence[str]) -> list[str]:
    """OCI ChainIDs: ChainID(L0)=DiffID(L0); ChainID(Ln)=sha256(ChainID(Ln-1) + " " + DiffID(Ln))."""
    out: list[str] = []
    for diff_id in diff_ids:
        if not out:
            out.append(diff_id)
        else:
            out.append("sha256:" + hashlib.sha256(f"{out[-1]} {diff_id}".encode()).hexdigest())
    return out


class LayerStore:
    def __init__(self, root: Path, blobs: BlobStore) -> None:
        self.root = root
        self.blobs = blobs
        self._layers = root / "layers"
        self._links = root / "l"
        self._layers.mkdir(parents=True, exist_ok=True)
        self._links.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._leases: dict[str, float] = {}
        for stale in self._layers.glob("tmp-*"):  # left by a crash mid-unpack or mid-removal
            rmtree(stale)
        for link in self._links.iterdir():
            if not link.exists():
                link.unlink()

    def _dir(self, diff_id: str) -> Path:
        return self._layers / check_digest(diff_id)

    def has(self, diff_id: str) -> bool:
        return (self._dir(diff_id) / "meta.json").is_file()

    def get(self, diff_id: str) -> Layer:
        try:
            meta = read_json(self._dir(diff_id) / "meta.json")
        except FileNotFoundError:
            raise NotFound(f"layer {diff_id} does not exist") from None
        return Layer(diff_id, meta["size"], meta["link"], tuple(meta["sources"]), self._dir(diff_id) / "diff",
                     meta.get("tar_size", 0))

    def diff_ids(self) -> list[str]:
        return ["sha256:" + p.name for p in self._layers.iterdir() if not p.name.startswith("tmp-")]

    def by_source(self, digest: str) -> str | None:
        """The diff_id of a layer that arrived as blob `digest` (lets a puller skip known layers)."""
        for diff_id in self.diff_ids():
            if digest in self.get(diff_id).sources:
                return diff_id
        return None

    def add(
        self, stream: BinaryIO, *, expected_diff_id: str | None = None, keep_source: bool = True,
        source_digest: str | None = None,
    ) -> Layer:
        """Unpack a (possibly compressed) layer tar; returns the existing layer when the content is known."""
        if expected_diff_id is not None and self.has(expected_diff_id):
            self._leases[expected_diff_id] = time.monotonic()
            return self.get(expected_diff_id)
        tmp = self._layers / f"tmp-{secrets.token_hex(8)}"
        (tmp / "diff").mkdir(parents=True)
        # a stream read from a stored blob (source_digest) needs no second copy
        writer = self.blobs.writer() if keep_source and source_digest is None else None
        gz: gzip.GzipFile | None = None
        try:
            kind, raw = compression.sniff(stream)
            # A plain tar is kept gzip-compressed (deterministic: level 1, no mtime): half the disk of a
            # second plain copy, and what a push sends anyway.
            if writer is not None and kind == "none":
                gz = gzip.GzipFile(fileobj=writer, mode="wb", compresslevel=1, mtime=0)  # type: ignore[call-overload]
            sink = gz if gz is not None else writer
            source: BinaryIO = _Tee(raw, sink) if sink is not None else raw  # type: ignore[assignment]
            plain = HashingReader(compression.decompressed(kind, source))
            size = unpack(plain, str(tmp / "diff"))  # type: ignore[arg-type]
            plain.drain()
            while source.read(1 << 20):  # trailing bytes after a compressed stream still belong to the blob
                pass
            diff_id = plain.digest
            if expected_diff_id is not None and expected_diff_id != diff_id:
                raise InvalidParameter(f"layer digest mismatch: expected {expected_diff_id}, got {diff_id}")
            if gz is not None:
                gz.close()  # flushes the gzip trailer into the blob writer (which stays open)
            sources = [writer.commit()[0]] if writer is not None else []
            if source_digest is not None and self.blobs.has(source_digest):
                sources.append(source_digest)
        except BaseException as exc:
            if gz is not None:
                with contextlib.suppress(Exception):
                    gz.close()  # before abort, so no finalizer writes to a closed writer later
            if writer is not None:
                writer.abort()
            rmtree(tmp)
            if isinstance(exc, OSError):
                raise SystemError_(f"failed to unpack layer: {exc}") from exc
            raise
        return self._install(tmp, diff_id, size, plain.size, sources, kind)

    def _install(self, tmp: Path, diff_id: str, size: int, tar_size: int, sources: list[str],
                 kind: str) -> Layer:
        # The new layer's meta goes into its private temp dir, before the lock and without fsync: the rename
        # of the whole directory below is what makes the layer appear, atomically for any process (a daemon
        # killed at any point sees all of it or none). Syncing only the meta would not make the layer survive
        # a power cut either: its unpacked files are not synced (as with dockerd's overlay2), and a pull
        # spends tens of milliseconds per layer in those fsyncs on a busy disk.
        link = base64.b32encode(secrets.token_bytes(10)).decode()[:16]
        meta = {"diff_id": diff_id, "size": size, "tar_size": tar_size, "link": link, "sources": sources}
        (tmp / "meta.json").write_text(json.dumps(meta, separators=(",", ":"), sort_keys=True))
        with self._lock:
            self._leases[diff_id] = time.monotonic()
            final = self._dir(diff_id)
            if (final / "meta.json").is_file():
                rmtree(tmp)
                layer = self.get(diff_id)
                new = tuple(s for s in sources if s not in layer.sources)
                if new:
                    self._write_meta(final, diff_id, layer.size, layer.tar_size, layer.link,
                                     layer.sources + new)
                return self.get(diff_id)
            if final.exists():
                rmtree(final)  # a half-removed layer from a crash
            # link first: a crash in between leaves a dangling link (swept at start), not a linkless layer
            os.symlink(f"../layers/{final.name}/diff", self._links / link)
            os.rename(tmp, final)
        log.info("layer added diff_id=%s size=%d compression=%s", diff_id, size, kind)
        return self.get(diff_id)

    @staticmethod
    def _write_meta(directory: Path, diff_id: str, size: int, tar_size: int, link: str,
                    sources: tuple[str, ...]) -> None:
        atomic_write_json(directory / "meta.json", {"diff_id": diff_id, "size": size, "tar_size": tar_size,
                                                    "link": link, "sources": list(sources)})

    def leased(self) -> set[str]:
        """Layers added recently that no image may reference yet (kept by garbage collection)."""
        now = time.monotonic()
        return {d for d, t in list(self._leases.items()) if now - t < LEASE_SECONDS}

    def release(self, diff_ids: Iterable[str]) -> None:
        """An image now references these layers: its record keeps them alive from here on."""
        for diff_id in diff_ids:
            self._leases.pop(diff_id, None)

    def open_tar(self, diff_id: str) -> BinaryIO:
        """The exact uncompressed tar whose sha256 is `diff_id`, reproduced from a kept source blob."""
        for digest in self.get(diff_id).sources:
            if self.blobs.has(digest):
                return compression.open_uncompressed(self.blobs.open(digest))
        raise NotFound(f"layer {diff_id} has no stored archive")

    def remove(self, diff_id: str) -> None:
        """Delete a layer, its short link and its source blobs (the caller knows nothing uses it)."""
        with self._lock:
            try:
                layer = self.get(diff_id)
            except NotFound:
                return
            (self._links / layer.link).unlink(missing_ok=True)
            doomed = self._layers / f"tmp-rm-{secrets.token_hex(8)}"
            os.rename(self._dir(diff_id), doomed)  # invisible at once; the tree goes after
            rmtree(doomed)
            for digest in layer.sources:
                self.blobs.delete(digest)
        log.info("layer removed diff_id=%s", diff_id)

    def lower_links(self, diff_ids: Iterable[str]) -> list[str]:
        """`l/<short>` paths (relative to root) for overlay's lowerdir, top-most layer first."""
        return [f"l/{self.get(d).link}" for d in reversed(list(diff_ids))]

    def lower_dirs(self, diff_ids: Iterable[str]) -> list[Path]:
        return [self.get(d).path for d in reversed(list(diff_ids))]
