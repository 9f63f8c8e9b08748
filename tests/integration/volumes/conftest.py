from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.images.store import Image, ImageStore
from tests.integration.images.mounts import unmount_all


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ImageStore]:
    """A fresh image store; whatever a test mounted below it is unmounted afterwards, pass or fail."""
    try:
        yield ImageStore(tmp_path / "images")
    finally:
        unmount_all(tmp_path)


@pytest.fixture
def busybox_image(store: ImageStore, busybox_tar: bytes) -> Image:
    return store.import_rootfs(io.BytesIO(busybox_tar), "busybox:latest", ['CMD ["sh"]'], "")
