"""What the engine's objects take up on disk (`GET /system/df`, `docker system df`): images with their
shared and unique layers, containers with their rw layers, volumes with their directories.

All the numbers come from the stores' own records (layer sizes, rw layer directories, volume directories);
the directory walks are blocking: the API calls `disk_usage` in a worker thread.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.containers.model import Container
from engine.containers.store import ContainerStore
from engine.errors import NotFound
from engine.images.listing import layer_sharing
from engine.images.store import Image, ImageStore
from engine.volumes.store import Volume, VolumeStore

TYPES = ("container", "image", "volume", "build-cache")  # what /system/df's `type` may ask for


@dataclass(frozen=True)
class ImageUsage:
    """An image's part of `system df`: how many containers use it, shared size."""

    image: Image
    containers: int  # containers made from it
    shared_size: int  # bytes of its layers that other images use too


@dataclass(frozen=True)
class ContainerUsage:
    """A container's part of `system df`: its writable layer and root fs sizes."""

    container: Container
    size_rw: int  # bytes the container wrote (its rw layer)
    size_root_fs: int  # that plus its image


@dataclass(frozen=True)
class VolumeUsage:
    """A volume's part of `system df`: its size and how many containers use it."""

    volume: Volume
    size: int
    ref_count: int  # containers that use it


@dataclass(frozen=True)
class DiskUsage:
    """One answer; a kind not asked for is None."""

    images: list[ImageUsage] | None = None
    layers_size: int = 0  # every layer once
    containers: list[ContainerUsage] | None = None
    volumes: list[VolumeUsage] | None = None
    build_cache: list[object] | None = None  # the builder keeps no cache records: always empty


def dir_size(root: Path) -> int:
    """Bytes used by the regular files under `root` (hard links counted once, symlinks not followed)."""
    total = 0
    seen: set[tuple[int, int]] = set()
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue  # removed while we walk
            if st.st_nlink > 1:
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    continue
                seen.add(key)
            total += st.st_size
    return total


class SystemService:
    def __init__(self, images: ImageStore, containers: ContainerStore, volumes: VolumeStore,
                 volume_users: Callable[[str], list[str]]) -> None:
        self.images = images
        self.containers = containers
        self.volumes = volumes
        self.volume_users = volume_users  # volume name -> ids of the containers that use it

    def disk_usage(self, types: frozenset[str]) -> DiskUsage:
        """The usage of the kinds in `types` (names from TYPES); blocking (walks directories)."""
        images, layers_size = self._images() if "image" in types else (None, 0)
        return DiskUsage(
            images=images,
            layers_size=layers_size,
            containers=self._containers() if "container" in types else None,
            volumes=self._volumes() if "volume" in types else None,
            build_cache=[] if "build-cache" in types else None,
        )

    def _images(self) -> tuple[list[ImageUsage], int]:
        images = self.images.list()
        users = collections.Counter(c.image_id for c in self.containers.all())
        shared, layers_size = layer_sharing(self.images.layers, images)
        return [ImageUsage(image, users.get(image.id, 0), shared[image.id]) for image in images], layers_size

    def _containers(self) -> list[ContainerUsage]:
        out = []
        image_sizes: dict[str, int] = {}
        for c in self.containers.all():
            if c.image_id not in image_sizes:
                try:
                    image_sizes[c.image_id] = self.images.get(c.image_id).size
                except NotFound:
                    image_sizes[c.image_id] = 0
            upper = Path(self.images.root) / "rw" / c.id / "upper"  # the rw layer's layout (engine.images.rw)
            size_rw = dir_size(upper) if upper.is_dir() else 0
            out.append(ContainerUsage(c, size_rw, size_rw + image_sizes[c.image_id]))
        return out

    def _volumes(self) -> list[VolumeUsage]:
        return [VolumeUsage(v, dir_size(Path(v.mountpoint)), len(self.volume_users(v.name)))
                for v in self.volumes.list({}, self.volume_users)]
