"""Fixtures of the e2e suites: one private engine for the folder (tests/support/engine.py, with
busybox:latest imported), the docker CLI, docker-py, and a per-test sweep of what a test left behind."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import docker as docker_sdk
import pytest

from tests.e2e.helpers import DockerCLI, client_env
from tests.support.engine import EngineProcess, running_engine


@pytest.fixture(scope="package")
def engine_handle() -> Iterator[EngineProcess]:
    with running_engine() as eng:
        yield eng


@pytest.fixture(scope="package")
def engine_socket(engine_handle: EngineProcess) -> Path:
    return engine_handle.socket_path


@pytest.fixture(scope="package")
def docker_cli(engine_socket: Path, tmp_path_factory: pytest.TempPathFactory) -> DockerCLI:
    return DockerCLI(client_env(engine_socket, tmp_path_factory.mktemp("docker-config")))


@pytest.fixture
def docker(docker_cli: DockerCLI) -> Iterator[DockerCLI]:
    """The docker CLI; afterwards removes the containers, volumes and e2e/* images the test created."""
    before = _inventory(docker_cli)
    try:
        yield docker_cli
    finally:
        _sweep(docker_cli, before)


@pytest.fixture
def docker_client(engine_socket: Path, docker_cli: DockerCLI) -> Iterator[docker_sdk.DockerClient]:
    before = _inventory(docker_cli)
    client = docker_sdk.DockerClient(base_url=f"unix://{engine_socket}", timeout=60)
    try:
        yield client
    finally:
        client.close()
        _sweep(docker_cli, before)


def _inventory(cli: DockerCLI) -> dict[str, set[str]]:
    def ids(*args: str) -> set[str]:
        res = cli(*args, check=False)
        return set(res.out.split()) if res.rc == 0 else set()

    return {
        "containers": ids("ps", "-aq", "--no-trunc"),
        "volumes": ids("volume", "ls", "-q"),
        "images": ids("images", "-a", "--no-trunc", "-q"),
    }


def _sweep(cli: DockerCLI, before: dict[str, set[str]]) -> None:
    after = _inventory(cli)
    with contextlib.suppress(Exception):
        if extra := sorted(after["containers"] - before["containers"]):
            cli("rm", "-f", "-v", *extra, check=False)
        if extra := sorted(after["volumes"] - before["volumes"]):
            cli("volume", "rm", "-f", *extra, check=False)
        if extra := sorted(after["images"] - before["images"]):
            cli("rmi", "-f", *extra, check=False)
        tags = cli("images", "--format", "{{.Repository}}:{{.Tag}}", check=False).out.split()
        if e2e_tags := [t for t in tags if t.startswith(("e2e/", "localhost:5000/e2e/"))]:
            cli("rmi", "-f", *e2e_tags, check=False)
