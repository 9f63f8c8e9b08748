"""composer and the reference `docker compose` on the same project do not fight: after either brought the
project up, the other's `up -d` is a no-op (same container IDs, same start times, same network IDs), in both
directions, on our engine and on a private dockerd.

What makes it work: the same config-hash labels on containers (service hash), networks (network hash) and
volumes (volume hash) as Compose v2.40 computes them, so each tool takes the other's objects as current.
The project has what real ones have: several networks (one internal with its own subnet, driver options,
labels, an x- key), named volumes with labels and options, a secret, a config, a healthcheck-gated dependency.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.engine import EngineProcess
from tests.support.parity import container_snapshot, docker, dockerd_loaded, project_objects, tool
from tests.support.reference import reference_binary

pytestmark = [
    pytest.mark.root,
    pytest.mark.e2e,
    pytest.mark.skipif(reference_binary() is None, reason="the reference binary is not installed"),
]

BIP, POOL = "10.237.0.1/24", "base=10.238.0.0/16,size=24"
PROJECT = "conv"

COMPOSE = """\
services:
  db:
    image: busybox
    command: sleep 3600
    networks:
      back:
        aliases: [database]
    volumes: [data:/data]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
  web:
    image: busybox
    command: sleep 3600
    depends_on:
      db: {condition: service_healthy}
    networks: [front, back]
    volumes: [cache:/cache, ./html:/html:ro]
    secrets: [token]
    configs: [site]
    environment: {MODE: prod}
    labels: {tier: web}
networks:
  front:
    labels: {a: b}
    x-note: kept out of the hash
  back:
    internal: true
    ipam:
      config:
        - subnet: 10.238.250.0/24
volumes:
  data:
    labels: [x=y]
  cache:
    driver_opts: {type: tmpfs, device: tmpfs}
secrets:
  token:
    environment: TOKEN
configs:
  site:
    content: "listen 80"
"""


@pytest.fixture(scope="module")
def dockerd_host(engine_handle: EngineProcess) -> Iterator[str]:
    if shutil.which("dockerd") is None:
        pytest.skip("dockerd is not installed")
    with dockerd_loaded(engine_handle, bip=BIP, pool=POOL) as host:
        yield host


@pytest.fixture(params=["engine", "dockerd"])
def host(request: pytest.FixtureRequest, engine_handle: EngineProcess) -> str:
    if request.param == "engine":
        return engine_handle.docker_host
    return str(request.getfixturevalue("dockerd_host"))


def _labels(host: str, kind: str, names: list[str]) -> dict[str, dict[str, str]]:
    import json

    res = docker(host, kind, "inspect", "--format", "{{json .Labels}}", *names)
    assert res.rc == 0, res.err
    return dict(zip(names, (json.loads(line) for line in res.out.splitlines()), strict=True))


@pytest.mark.parametrize("first,second", [("composer", "reference"), ("reference", "composer")])
def test_the_other_tools_up_is_a_no_op(host: str, first: str, second: str, tmp_path: Path) -> None:
    work = tmp_path / PROJECT
    work.mkdir()
    (work / "compose.yaml").write_text(COMPOSE)
    (work / "html").mkdir()
    env = {"TOKEN": "t0k3n"}
    try:
        up = tool(first, host, work, "up", "-d", "--wait", env=env)
        assert up.rc == 0, up.err
        before = container_snapshot(host, PROJECT)
        objects = project_objects(host, PROJECT)
        networks = docker(
            host,
            "network",
            "ls",
            "-q",
            "--no-trunc",
            "--filter",
            f"label=com.docker.compose.project={PROJECT}",
        )
        assert set(before) == {f"{PROJECT}-db-1", f"{PROJECT}-web-1"}
        assert len(objects["networks"]) == 2 and len(objects["volumes"]) == 2

        again = tool(second, host, work, "up", "-d", "--wait", env=env)
        assert again.rc == 0, again.err
        assert "Recreate" not in again.err and "Creating" not in again.err and "Removed" not in again.err, (
            again.err
        )
        assert container_snapshot(host, PROJECT) == before
        assert (
            docker(
                host,
                "network",
                "ls",
                "-q",
                "--no-trunc",
                "--filter",
                f"label=com.docker.compose.project={PROJECT}",
            ).out
            == networks.out
        )
        # and back again: the first tool also sees nothing to do
        third = tool(first, host, work, "up", "-d", env=env)
        assert third.rc == 0, third.err
        assert container_snapshot(host, PROJECT) == before
    finally:
        tool(first, host, work, "down", "-v", env=env)
    assert project_objects(host, PROJECT) == {"containers": [], "networks": [], "volumes": []}


def test_same_labels_on_networks_and_volumes(host: str, tmp_path: Path) -> None:
    """Each tool's networks and volumes carry the same labels (config hash included)."""
    work = tmp_path / PROJECT
    work.mkdir()
    (work / "compose.yaml").write_text(COMPOSE)
    (work / "html").mkdir()
    env = {"TOKEN": "t"}
    seen = []
    for which in ("composer", "reference"):
        try:
            assert tool(which, host, work, "up", "-d", "--no-start", env=env).rc == 0
            objects = project_objects(host, PROJECT)
            seen.append(
                (_labels(host, "network", objects["networks"]), _labels(host, "volume", objects["volumes"]))
            )
        finally:
            tool(which, host, work, "down", "-v", env=env)
    assert seen[0] == seen[1]
