"""Fixtures: real docker-registry processes, fresh image stores, a busybox image made in the store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.images.store import ImageStore
from engine.registry import RegistryClient, RegistryOptions
from tests.integration.registry.helpers import USERS, busybox_image
from tests.support.registry import Registry, TLSFiles, make_tls, running_registry


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    """A plain HTTP registry on 127.0.0.1 (insecure by Docker's loopback rule)."""
    with running_registry(tmp_path / "registry") as reg:
        yield reg


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return make_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def auth_registry(tmp_path: Path, tls_files: TLSFiles) -> Iterator[Registry]:
    """HTTPS with a test CA and htpasswd Basic auth (user alice)."""
    with running_registry(tmp_path / "auth-registry", tls=tls_files, users=USERS) as reg:
        yield reg


@pytest.fixture
def make_store(tmp_path: Path) -> Callable[[str], ImageStore]:
    def make(name: str) -> ImageStore:
        return ImageStore(tmp_path / "stores" / name)

    return make


@pytest.fixture
def options(tmp_path: Path) -> RegistryOptions:
    """No ambient config: an empty docker config.json and certs.d of the test's own."""
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "config.json").write_text("{}")
    (tmp_path / "certs.d").mkdir()
    return RegistryOptions(
        config_path=tmp_path / "docker" / "config.json", certs_dir=tmp_path / "certs.d", max_retries=3
    )


@pytest.fixture
def staging(tmp_path: Path) -> Path:
    d = tmp_path / "staging"
    d.mkdir()
    return d


@pytest.fixture
def pushed(
    registry: Registry,
    make_store: Callable[[str], ImageStore],
    busybox_tar: bytes,
    options: RegistryOptions,
    staging: Path,
) -> tuple[str, str, Any]:
    """busybox pushed to the plain registry as library/busybox:latest: (reference, manifest digest, image)."""
    store = make_store("source")
    ref = f"{registry.host}/library/busybox:latest"
    image = busybox_image(store, busybox_tar, ref)
    digest = RegistryClient(store, options, staging_dir=staging).push(ref)
    return ref, digest, image
