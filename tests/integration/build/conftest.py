"""Fixtures of the build/registry suite: a plain docker-registry on 127.0.0.1 holding busybox, and a private
engine whose only way to `busybox` is that registry as its registry mirror (daemon.json registry-mirrors)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import DockerCLI, client_env
from tests.support.engine import EngineProcess, running_engine
from tests.support.registry import Registry, running_registry


@pytest.fixture(scope="package")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    if os.geteuid() != 0:
        pytest.skip("needs root; CI runs as root")
    with running_registry(tmp_path_factory.mktemp("registry")) as reg:
        yield reg


@pytest.fixture(scope="package")
def seed(registry: Registry) -> None:
    """busybox as docker.io/library/busybox in the mirror, pushed by a throwaway engine."""
    with running_engine() as eng:
        env = client_env(eng.socket_path, eng.base / "docker-config")
        cli = DockerCLI(env)
        cli("tag", "busybox:latest", f"{registry.host}/library/busybox:latest")
        cli("push", f"{registry.host}/library/busybox:latest", timeout=120)


@pytest.fixture(scope="package")
def engine(registry: Registry, seed: None) -> Iterator[EngineProcess]:
    """An engine with no busybox of its own: `FROM busybox` pulls through the mirror."""
    with running_engine(
        busybox_image=False, extra_args=(f"--registry-mirror=http://{registry.host}",)
    ) as eng:
        yield eng


@pytest.fixture(scope="package")
def docker(engine: EngineProcess) -> DockerCLI:
    return DockerCLI(client_env(engine.socket_path, engine.base / "docker-config"))


@pytest.fixture
def context(tmp_path: Path) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    return ctx
