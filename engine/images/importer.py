"""`docker import`: a rootfs tarball becomes a one-layer image."""

from __future__ import annotations

import platform
from typing import TYPE_CHECKING, Any, BinaryIO

from engine.images import reference, timefmt
from engine.images.changes import apply_changes

if TYPE_CHECKING:
    from collections.abc import Sequence

    from engine.images.store import Image, ImageStore

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "ppc64le": "ppc64le",
         "s390x": "s390x", "riscv64": "riscv64"}


def host_architecture() -> str:
    machine = platform.machine()
    return _ARCH.get(machine, machine)


def import_rootfs(store: ImageStore, tar_stream: BinaryIO, repo_tag: str | None,
                  changes: Sequence[str], message: str) -> Image:
    if repo_tag:
        reference.parse_tagged(repo_tag)  # a bad name fails before the upload is unpacked
    container_config = apply_changes({}, list(changes))
    diff_id = store.add_layer(tar_stream)
    created = timefmt.now()
    comment = message or "Imported from -"
    config: dict[str, Any] = {
        "architecture": host_architecture(),
        "comment": comment,
        "config": container_config,
        "created": created,
        "history": [{"created": created, "comment": comment}],
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    return store.create_image(config, [repo_tag] if repo_tag else [])
