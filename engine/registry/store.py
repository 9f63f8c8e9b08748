"""What the registry client needs from the image store (engine.images.ImageStore, engine-contracts.md).

The contract's methods are called directly; the few extras a registry client profits from (layer lookup
by diff_id or by compressed digest, the exact layer tar for push, recording repo digests) are reached
through the small adapters below, so the client keeps working with a store that lacks them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from engine.errors import NotFound


class BlobStore(Protocol):
    def get(self, ref_or_id: str) -> Any: ...
    def create_image(self, config: Any, tags: Sequence[str] = ()) -> Any: ...
    def add_layer(self, tar_stream: BinaryIO) -> str: ...
    def write_blob(self, data: bytes | BinaryIO, expected: str | None = None) -> tuple[str, int]: ...
    def blob_path(self, digest: str) -> Path: ...


def has_blob(store: BlobStore, digest: str) -> bool:
    try:
        return store.blob_path(digest).is_file()
    except (NotFound, ValueError):
        return False


def has_layer(store: BlobStore, diff_id: str) -> bool:
    """True when the store already holds the unpacked layer `diff_id` (no download, no unpack needed)."""
    probe = getattr(store, "has_layer", None) or getattr(getattr(store, "layers", None), "has", None)
    return bool(probe(diff_id)) if callable(probe) else False


def add_layer(store: BlobStore, stream: BinaryIO, diff_id: str) -> str:
    try:
        return store.add_layer(stream, expected_diff_id=diff_id)  # type: ignore[call-arg]
    except TypeError:
        return store.add_layer(stream)


class BlobWriter(Protocol):
    """engine.images.blobs.BlobWriter: bytes in, sha256 on the fly, commit() renames into the store."""

    offset: int

    def write(self, data: bytes) -> int: ...
    @property
    def digest(self) -> str: ...
    def commit(
        self, expected: str | None = None, expected_size: int | None = None, *, durable: bool = True
    ) -> tuple[str, int]: ...
    def abort(self) -> None: ...


def blob_writer(store: BlobStore) -> BlobWriter | None:
    """A writer into the store's own ingest area, when the store has one (downloads then need no copy)."""
    make = getattr(getattr(store, "blobs", None), "writer", None)
    return make() if callable(make) and callable(getattr(store, "add_layer_blob", None)) else None


def add_layer_blob(store: BlobStore, digest: str, diff_id: str) -> str:
    """Unpack the stored blob `digest` as a layer; the blob itself becomes the layer's kept source."""
    add = getattr(store, "add_layer_blob", None)
    if callable(add):
        return str(add(digest, expected_diff_id=diff_id))
    with open(store.blob_path(digest), "rb") as f:
        return add_layer(store, f, diff_id)


def delete_blob(store: BlobStore, digest: str) -> None:
    remove = getattr(getattr(store, "blobs", None), "delete", None)
    if callable(remove):
        remove(digest)


@contextmanager
def layer_tar(store: BlobStore, diff_id: str) -> Iterator[BinaryIO]:
    """The uncompressed tar whose sha256 is `diff_id` (what push compresses)."""
    opener = getattr(getattr(store, "layers", None), "open_tar", None)
    if callable(opener):
        stream = opener(diff_id)  # rebuilt from the blob the layer arrived as; closing closes that blob
    elif has_blob(store, diff_id):
        stream = open(store.blob_path(diff_id), "rb")  # noqa: SIM115 - closed below
    else:
        raise NotFound(f"layer {diff_id} has no stored archive to push")
    try:
        yield stream
    finally:
        stream.close()


def find_image(store: BlobStore, ref_or_id: str) -> Any | None:
    try:
        return store.get(ref_or_id)
    except NotFound:
        return None


def create_image(store: BlobStore, config_raw: bytes, tags: Sequence[str]) -> Any:
    """The config bytes are passed verbatim so the image id stays the registry's config digest."""
    return store.create_image(config_raw, tags)


def add_repo_digest(store: BlobStore, name: str, manifest_digest: str, image_id: str) -> None:
    """Record `name@digest` (Docker's RepoDigests) when the store can."""
    record = getattr(store, "add_digest_ref", None)
    if callable(record):
        record(name, manifest_digest, image_id)
