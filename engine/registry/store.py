"""What the registry client needs from the image store (engine.images.ImageStore, engine-contracts.md)."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from engine.errors import NotFound


class ImageLike(Protocol):
    id: str
    config: dict[str, Any]
    repo_tags: tuple[str, ...]
    repo_digests: tuple[str, ...]


class BlobStore(Protocol):
    def get(self, ref_or_id: str) -> Any: ...
    def create_image(self, config: dict[str, Any], tags: Sequence[str] = ()) -> Any: ...
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
    probe = getattr(store, "has_layer", None)
    if callable(probe):
        return bool(probe(diff_id))
    return False


def find_image(store: BlobStore, ref_or_id: str) -> Any | None:
    try:
        return store.get(ref_or_id)
    except NotFound:
        return None


def create_image(
    store: BlobStore, config: dict[str, Any], tags: Sequence[str], repo_digests: Sequence[str]
) -> Any:
    """create_image, passing the repo digests when this store version accepts them."""
    params = inspect.signature(store.create_image).parameters
    if "repo_digests" in params:
        return store.create_image(config, tags, repo_digests=tuple(repo_digests))  # type: ignore[call-arg]
    return store.create_image(config, tags)
