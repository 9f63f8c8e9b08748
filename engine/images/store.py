"""The image store: image configs as blobs, an index of names -> image ids, layers shared by everything.

Index (`<root>/index.json`, written atomically): {"images": {id: {"parent", "created_at", "last_tag_time"}},
"refs": {normalized reference: id}}. An image id is the sha256 of its config blob, as in Docker.
Archive formats, imports and container rw layers live in their own modules; this class is the facade
the daemon wires (see docs/engine-contracts.md).
"""

from __future__ import annotations

import builtins
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from engine.errors import InvalidParameter, NotFound
from engine.images import reference, timefmt
from engine.images.blobs import BlobStore
from engine.images.digest import check_digest, is_digest, sha256_bytes
from engine.images.layers import LayerStore
from engine.images.rw import RwLayers
from engine.util.atomic import atomic_write_json, read_json

log = logging.getLogger(__name__)

_HEX_RE = re.compile(r"^[a-f0-9]{1,64}$")

InUse = Callable[[str], list[str]]


@dataclass(frozen=True)
class Image:
    """An image's record: its config, tags, digests, size and layers."""

    id: str                         # "sha256:<hex>", digest of the config blob
    config: dict[str, Any]          # the image config JSON
    repo_tags: tuple[str, ...]      # familiar form, e.g. "busybox:latest"
    repo_digests: tuple[str, ...]   # familiar form, e.g. "busybox@sha256:..."
    size: int                       # sum of the layers' content sizes
    parent: str = ""
    last_tag_time: str = ""
    created_at: str = field(default="", compare=False)

    @property
    def diff_ids(self) -> list[str]:
        return list(self.config.get("rootfs", {}).get("diff_ids") or [])

    @property
    def short_id(self) -> str:
        return self.id.split(":", 1)[1][:12]


class ImageStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.blobs = BlobStore(self.root)
        self.layers = LayerStore(self.root, self.blobs)
        self.rw = RwLayers(self.root, self.layers)
        self._lock = threading.RLock()
        self._index_path = self.root / "index.json"
        try:
            self._index: dict[str, dict[str, Any]] = read_json(self._index_path)
        except FileNotFoundError:
            self._index = {"images": {}, "refs": {}}

    # -- blobs and layers -------------------------------------------------------------------------
    def write_blob(self, data: bytes | BinaryIO, expected: str | None = None) -> tuple[str, int]:
        return self.blobs.write(data, expected)

    def blob_path(self, digest: str) -> Path:
        return self.blobs.blob_path(digest)

    def add_layer(self, tar_stream: BinaryIO, expected_diff_id: str | None = None) -> str:
        """Unpack a layer tar (gzip/zstd/plain) once; returns its diff_id."""
        return self.layers.add(tar_stream, expected_diff_id=expected_diff_id).diff_id

    def add_layer_blob(self, digest: str, expected_diff_id: str | None = None) -> str:
        """Unpack a layer from a blob already in the store (a verified download) without copying it."""
        with self.blobs.open(digest) as f:
            return self.layers.add(f, expected_diff_id=expected_diff_id, source_digest=digest).diff_id

    def add_layer_stream(
        self, stream: BinaryIO, source_digest: str, expected_diff_id: str | None = None
    ) -> str:
        """Unpack a layer while it downloads. `stream` stores blob `source_digest` itself (verified) before it
        reports EOF, and that blob becomes the layer's kept source: nothing is written twice. A stream that
        fails or a diff_id mismatch leaves no layer (the caller drops a blob it stored)."""
        return self.layers.add(stream, expected_diff_id=expected_diff_id, source_digest=source_digest).diff_id

    # -- lookup ------------------------------------------------------------------------------------
    def _save_index(self) -> None:
        atomic_write_json(self._index_path, self._index)

    def _refs_of(self, image_id: str) -> list[str]:
        return sorted(r for r, i in self._index["refs"].items() if i == image_id)

    def _build(self, image_id: str) -> Image:
        meta = self._index["images"][image_id]
        config = json.loads(self.blobs.read(image_id))
        refs = [reference.parse(r) for r in self._refs_of(image_id)]
        diff_ids = config.get("rootfs", {}).get("diff_ids") or []
        size = sum(self.layers.get(d).size for d in diff_ids if self.layers.has(d))
        return Image(
            id=image_id,
            config=config,
            repo_tags=tuple(r.familiar() for r in refs if r.digest is None),
            repo_digests=tuple(r.familiar() for r in refs if r.digest is not None),
            size=size,
            parent=meta.get("parent", ""),
            last_tag_time=meta.get("last_tag_time", ""),
            created_at=meta.get("created_at", ""),
        )

    def resolve(self, ref_or_id: str) -> tuple[str, reference.Reference | None]:
        """(image id, the named reference it was found by, or None when found by id)."""
        with self._lock:
            images = self._index["images"]
            candidate = ref_or_id[len("sha256:"):] if ref_or_id.startswith("sha256:") else None
            if candidate is not None and len(candidate) == 64:
                if ref_or_id in images:
                    return ref_or_id, None
                raise NotFound(f"No such image: {ref_or_id}")
            if len(ref_or_id) == 64 and _HEX_RE.match(ref_or_id):
                if "sha256:" + ref_or_id in images:
                    return "sha256:" + ref_or_id, None
                raise NotFound(f"No such image: {ref_or_id}")
            if candidate is None:
                try:
                    named = reference.parse_tagged(ref_or_id)
                except InvalidParameter:
                    if not _HEX_RE.match(ref_or_id):
                        raise
                    named = None
                if named is not None:
                    if named.tag is not None and named.digest is not None:
                        named = named.with_digest(named.digest)  # Docker: the digest wins over the tag
                    found = self._index["refs"].get(str(named))
                    if found is not None:
                        return found, named
                candidate = ref_or_id
            if _HEX_RE.match(candidate):
                matches = [i for i in images if i[len("sha256:"):].startswith(candidate)]
                if len(matches) == 1:
                    return matches[0], None
            raise NotFound(f"No such image: {ref_or_id}")

    def get(self, ref_or_id: str) -> Image:
        image_id, _ = self.resolve(ref_or_id)
        with self._lock:
            return self._build(image_id)

    def exists(self, image_id: str) -> bool:
        with self._lock:
            return image_id in self._index["images"]

    def list(self) -> list[Image]:
        with self._lock:
            return [self._build(i) for i in sorted(self._index["images"])]

    def children(self, image_id: str) -> builtins.list[str]:
        with self._lock:
            return [i for i, m in self._index["images"].items() if m.get("parent") == image_id]

    # -- creating and naming -----------------------------------------------------------------------
    def create_image(
        self, config: dict[str, Any] | bytes, tags: Sequence[str] = (), *, parent: str = ""
    ) -> Image:
        """Store an image config (its layers must be in the store) and tag it. Bytes are kept verbatim,
        so an image pulled or loaded keeps the id it was made with."""
        raw = config if isinstance(config, bytes) else json.dumps(config, separators=(",", ":")).encode()
        try:
            parsed = json.loads(raw)
        except ValueError:
            raise InvalidParameter("invalid image config: not JSON") from None
        if not isinstance(parsed, dict):
            raise InvalidParameter("invalid image config: not an object")
        diff_ids = parsed.get("rootfs", {}).get("diff_ids") or []
        for diff_id in diff_ids:
            check_digest(diff_id)
            if not self.layers.has(diff_id):
                raise InvalidParameter(f"layer {diff_id} is not in the store")
        image_id, _ = self.blobs.write(raw, sha256_bytes(raw))
        named = [reference.parse_tagged(t) for t in tags]
        with self._lock:
            images = self._index["images"]
            if image_id not in images:
                images[image_id] = {"parent": parent, "created_at": timefmt.now(), "last_tag_time": ""}
            for ref in named:
                self._set_ref(ref, image_id)
            self._save_index()
            self.layers.release(diff_ids)
            log.info("image created id=%s tags=%s", image_id, ",".join(tags))
            return self._build(image_id)

    def _set_ref(self, ref: reference.Reference, image_id: str) -> None:
        self._index["refs"][str(ref)] = image_id
        if ref.digest is None:
            self._index["images"][image_id]["last_tag_time"] = timefmt.now()

    def tag(self, ref: str, new_ref: str) -> None:
        image_id, _ = self.resolve(ref)
        target = reference.parse(new_ref)
        if target.digest is not None:
            raise InvalidParameter("refusing to create a tag with a digest reference")
        if target.path.startswith("sha256") and is_digest("sha256:" + target.path.rsplit("/", 1)[-1]):
            raise InvalidParameter("refusing to create an ambiguous tag using digest algorithm as name")
        with self._lock:
            self._set_ref(reference.parse_tagged(new_ref), image_id)
            self._save_index()

    def add_digest_ref(self, name: str, manifest_digest: str, image_id: str) -> None:
        """Record `name@digest` for an image (a pull or push knows its manifest digest)."""
        check_digest(manifest_digest)
        ref = reference.parse(name)
        with self._lock:
            if image_id not in self._index["images"]:
                raise NotFound(f"No such image: {image_id}")
            self._set_ref(ref.with_digest(manifest_digest), image_id)
            self._save_index()

    def untag(self, ref: reference.Reference) -> None:
        with self._lock:
            self._index["refs"].pop(str(ref), None)
            self._save_index()

    def refs(self, image_id: str) -> builtins.list[reference.Reference]:
        with self._lock:
            return [reference.parse(r) for r in self._refs_of(image_id)]

    def delete_image(self, image_id: str) -> builtins.list[str]:
        """Drop an image record, its names and config blob; returns the diff_ids of layers freed."""
        with self._lock:
            for r in self._refs_of(image_id):
                del self._index["refs"][r]
            self._index["images"].pop(image_id, None)
            for meta in self._index["images"].values():
                if meta.get("parent") == image_id:
                    meta["parent"] = ""
            self._save_index()
            self.blobs.delete(image_id)
            return self.collect_layers()

    def collect_layers(self) -> builtins.list[str]:
        """Remove layers no image and no container rw layer uses (reference counts from the records)."""
        with self._lock:
            used = self.rw.referenced_layers() | self.layers.leased()
            for image_id in self._index["images"]:
                try:
                    config = json.loads(self.blobs.read(image_id))
                except NotFound:
                    continue
                used.update(config.get("rootfs", {}).get("diff_ids") or [])
            freed = [d for d in self.layers.diff_ids() if d not in used]
            for diff_id in freed:
                self.layers.remove(diff_id)
            self.collect_blobs()
            return freed

    def collect_blobs(self, grace_seconds: float = 3600.0) -> builtins.list[str]:
        """Remove blobs nothing refers to: not an image config, a layer's source, or a manifest/index named
        by a digest reference (or its children). Blobs younger than the grace period belong to pulls and
        builds still in progress and stay."""
        with self._lock:
            keep = set(self._index["images"])
            for diff_id in self.layers.diff_ids():
                keep.update(self.layers.get(diff_id).sources)
            pending = [reference.parse(r).digest for r in self._index["refs"] if "@" in r]
            while pending:
                digest = pending.pop()
                if digest is None or digest in keep:
                    continue
                keep.add(digest)
                try:
                    doc = json.loads(self.blobs.read(digest))
                except (NotFound, ValueError):
                    continue
                if isinstance(doc, dict):
                    children = [*(doc.get("manifests") or []), doc.get("config") or {},
                                *(doc.get("layers") or [])]
                    pending += [c.get("digest") for c in children if isinstance(c, dict)]
            now = time.time()
            removed = []
            for digest in self.blobs.digests():
                if digest in keep:
                    continue
                try:
                    age = now - self.blobs.blob_path(digest).stat().st_mtime
                except FileNotFoundError:
                    continue
                if age >= grace_seconds:
                    self.blobs.delete(digest)
                    removed.append(digest)
            return removed

    # -- operations with their own modules ---------------------------------------------------------
    def remove(self, ref: str, *, force: bool, prune: bool, in_use: InUse,
               running: InUse | None = None) -> builtins.list[dict[str, str]]:
        from engine.images.delete import remove

        return remove(self, ref, force=force, prune=prune, in_use=in_use, running=running)

    def prune(self, *, all_unused: bool = False, filters: dict[str, builtins.list[str]] | None = None,
              in_use: InUse = lambda _id: []) -> dict[str, Any]:
        from engine.images.delete import prune

        return prune(self, all_unused=all_unused, filters=filters or {}, in_use=in_use)

    def history(self, ref: str) -> builtins.list[dict[str, Any]]:
        from engine.images.inspect import history

        return history(self, self.get(ref))

    def inspect(self, ref: str) -> dict[str, Any]:
        from engine.images.inspect import inspect

        return inspect(self, self.get(ref))

    def import_rootfs(self, tar_stream: BinaryIO, repo_tag: str | None = None, changes: Sequence[str] = (),
                      message: str = "") -> Image:
        from engine.images.importer import import_rootfs

        return import_rootfs(self, tar_stream, repo_tag, changes, message)

    def save(self, refs: builtins.list[str]) -> Iterator[bytes]:
        from engine.images.archive import save

        return save(self, refs)

    def load(self, tar_stream: BinaryIO) -> builtins.list[str]:
        from engine.images.archive import load

        return load(self, tar_stream)

    # -- container read-write layers (overlayfs) ---------------------------------------------------
    def lower_dirs(self, image: Image) -> builtins.list[Path]:
        """Layer directories, top-most first, as overlay's lowerdir wants."""
        return self.layers.lower_dirs(image.diff_ids)

    def create_rw(self, container_id: str, image: Image | None) -> None:
        self.rw.create(container_id, image.diff_ids if image is not None else [],
                       image.id if image is not None else "")

    def mount_rw(self, container_id: str) -> Path:
        return self.rw.mount(container_id)

    def rw_overlay(self, container_id: str) -> tuple[Path, Path, str]:
        """(merged dir, working dir, overlay mount options) for a mount made elsewhere (a helper's own
        mount namespace)."""
        return self.rw.overlay(container_id)

    def unmount_rw(self, container_id: str) -> None:
        self.rw.unmount(container_id)

    def remove_rw(self, container_id: str) -> None:
        image_id = self.rw.image_of(container_id)
        self.rw.remove(container_id)
        with self._lock:
            kept = image_id in self._index["images"]
        # The rw layer stacks on its image's layers: while that image is still in the store, they stay in
        # use and nothing is freed. Only a container outliving its image (rmi -f) frees layers; a full
        # collection here read every container's meta on every removal (quadratic in a project's `down`).
        if not kept:
            self.collect_layers()

    def diff_rw(self, container_id: str) -> Iterator[bytes]:
        return self.rw.diff(container_id)

    def rw_paths(self, container_id: str) -> dict[str, str]:
        """{"LowerDir", "UpperDir", "WorkDir", "MergedDir"} for a container's GraphDriver.Data."""
        return self.rw.paths(container_id)

    def commit_rw(self, container_id: str, base: Image | None, container_config: dict[str, Any], *,
                  tags: Sequence[str] = (), changes: Sequence[str] = (), comment: str = "", author: str = "",
                  created_by: str = "") -> Image:
        """`docker commit`: base's layers + this container's diff as a new image (parent = base)."""
        from engine.images.commit import commit_rw

        return commit_rw(self, container_id, base, container_config, tags=tags, changes=changes,
                         comment=comment, author=author, created_by=created_by)

    def size_rw(self, container_id: str) -> int:
        """Docker's SizeRw: bytes the container has written."""
        return self.rw.size(container_id)

    def changes_rw(self, container_id: str) -> builtins.list[dict[str, Any]]:
        """`GET /containers/{id}/changes`: [{"Path": "/x", "Kind": 0|1|2}] (modified/added/deleted)."""
        return self.rw.changes(container_id)
