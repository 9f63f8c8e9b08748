"""Fixtures of the e2e suites: one private engine for the folder (tests/support/engine.py, with
busybox:latest imported), the docker CLI, docker-py, and a per-test sweep of what a test left behind."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import docker as docker_sdk
import pytest

from tests.e2e.both import ENGINES, Engine
from tests.e2e.helpers import DockerCLI, client_env
from tests.support import dockerd
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


# --- one test against both engines (tests/e2e/both.py) ------------------------------------------------


@pytest.fixture(scope="package")
def dockerd_engine(engine_handle: EngineProcess, docker_cli: DockerCLI,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A private dockerd 20.10 holding our busybox:latest (saved from our engine: the same image id)."""
    if not dockerd.dockerd_installed():
        pytest.skip("dockerd is not installed")
    archive = tmp_path_factory.mktemp("busybox-archive") / "busybox.tar"
    docker_cli("save", "-o", str(archive), "busybox:latest")
    with dockerd.private_dockerd(with_busybox=False) as (_env, tmp, _daemon):
        sock = Path(tmp) / "docker.sock"
        cli = DockerCLI(client_env(sock, Path(tmp)))
        cli("load", "-i", str(archive))
        yield Engine("dockerd", sock, cli)


@pytest.fixture(params=ENGINES)
def either(request: pytest.FixtureRequest, engine_socket: Path, docker_cli: DockerCLI) -> Iterator[Engine]:
    """The same test against our engine and against a private dockerd; what the test made is removed."""
    if request.param == "dockerd":
        eng: Engine = request.getfixturevalue("dockerd_engine")
    else:
        eng = Engine("composer", engine_socket, docker_cli)
    before = eng.inventory()
    try:
        yield eng
    finally:
        eng.sweep(before)
