from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.images.store import Image, ImageStore
from engine.volumes.store import VolumeStore
from tests.integration.images.mounts import unmount_all


@pytest.fixture
def volumes(tmp_path: Path) -> Iterator[VolumeStore]:
    """A fresh volume store; everything mounted below tmp_path is unmounted afterwards, pass or fail."""
    try:
        yield VolumeStore(tmp_path / "volumes")
    finally:
        unmount_all(tmp_path)


@pytest.fixture
def images(tmp_path: Path, volumes: VolumeStore) -> ImageStore:
    return ImageStore(tmp_path / "images")


@pytest.fixture
def busybox_image(images: ImageStore, busybox_tar: bytes) -> Image:
    return images.import_rootfs(io.BytesIO(busybox_tar), "busybox:latest", [], "")
