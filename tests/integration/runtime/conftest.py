"""Fixtures for the runtime's root tests: a private exec-root and a `Box` that always cleans up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.runtime import Runtime
from tests.integration.runtime.rt_support import Box


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = Runtime(tmp_path / "exec")
    yield rt
    rt.close()


@pytest.fixture
def box(runtime: Runtime, busybox_rootfs: Path, tmp_path: Path) -> Iterator[Box]:
    b = Box(runtime, busybox_rootfs, tmp_path)
    try:
        yield b
    finally:
        b.cleanup()
