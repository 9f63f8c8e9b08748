"""`docker commit` (and a builder's RUN step): a container's rw layer becomes the top layer of a new image."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from engine.images import timefmt
from engine.images.changes import apply_changes
from engine.images.importer import host_architecture

if TYPE_CHECKING:
    from engine.images.store import Image, ImageStore


class _ChunkReader:
    """A file-like view of an iterator of byte chunks (diff_rw's output, read by add_layer)."""

    def __init__(self, chunks: Any) -> None:
        self._chunks = iter(chunks)
        self._buf = b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buf += chunk
        if n < 0:
            data, self._buf = self._buf, b""
        else:
            data, self._buf = self._buf[:n], self._buf[n:]
        return data


def commit_rw(store: ImageStore, container_id: str, base: Image | None, container_config: dict[str, Any], *,
              tags: Sequence[str] = (), changes: Sequence[str] = (), comment: str = "", author: str = "",
              created_by: str = "") -> Image:
    """New image = base's layers + the container's diff; its config is `container_config` with `changes`."""
    diff_id = store.add_layer(_ChunkReader(store.diff_rw(container_id)))  # type: ignore[arg-type]
    created = timefmt.now()
    config: dict[str, Any] = json.loads(json.dumps(base.config)) if base is not None else {
        "architecture": host_architecture(), "os": "linux"}
    config["config"] = apply_changes(container_config, list(changes))
    config["created"] = created
    config["container"] = container_id
    if comment:
        config["comment"] = comment
    else:
        config.pop("comment", None)
    if author:
        config["author"] = author
    history = list(config.get("history") or [])
    entry: dict[str, Any] = {"created": created, "created_by": created_by}
    if author:
        entry["author"] = author
    if comment:
        entry["comment"] = comment
    history.append(entry)
    config["history"] = history
    diff_ids = list((config.get("rootfs") or {}).get("diff_ids") or [])
    config["rootfs"] = {"type": "layers", "diff_ids": [*diff_ids, diff_id]}
    return store.create_image(config, tags, parent=base.id if base is not None else "")

