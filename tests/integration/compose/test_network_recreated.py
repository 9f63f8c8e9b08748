"""A stopped container whose project network was removed (and maybe created again under the same name)
since it was created: the next `up -d` recreates it on the network that exists now instead of failing
with "network <old id> not found" (what Compose v2 2.40 does, as it checks networks of running
containers only). A converged project stays untouched: no recreate without a network change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from composer import labels as L
from tests.integration.compose.conftest import Runner

pytestmark = pytest.mark.root

PROJECT = """
name: netre
services:
  a:
    image: busybox:latest
    command: sleep 1000
    init: true
  b:
    image: busybox:latest
    command: sleep 1000
    init: true
    depends_on: [a]
"""
NET = "netre_default"


def _states(api: docker.APIClient) -> dict[str, tuple[str, str]]:
    """name -> (id, state)."""
    found = api.containers(all=True, filters={"label": [f"{L.PROJECT}=netre"]})
    return {c["Names"][0].lstrip("/"): (c["Id"], c["State"]) for c in found}


def _attached(api: docker.APIClient, name: str) -> str:
    return str(api.inspect_container(name)["NetworkSettings"]["Networks"][NET]["NetworkID"])


@pytest.fixture
def project(composer: Runner, project_dir: Path) -> Iterator[Runner]:
    (project_dir / "compose.yaml").write_text(PROJECT)
    yield composer
    composer("down", "-t", "0")


def test_stopped_containers_on_a_network_created_again_are_recreated(
    project: Runner, api: docker.APIClient
) -> None:
    assert project("up", "-d").code == 0
    old_net = api.inspect_network(NET)["Id"]
    assert project("stop", "-t", "0").code == 0
    before = _states(api)
    labels = api.inspect_network(NET)["Labels"]
    api.remove_network(NET)
    new_net = api.create_network(NET, labels=labels)["Id"]
    assert new_net != old_net

    dry = project("--dry-run", "up", "-d")
    assert dry.code == 0, dry.err
    # dockerd still lists the old NetworkID ("was recreated"); our engine drops the entry of a removed
    # network ("not attached to"): either way the reason names the network
    assert f"network {NET}" in dry.out and "recreate:" in dry.out, dry.out

    up = project("up", "-d")
    assert up.code == 0, up.err
    after = _states(api)
    assert set(after) == {"netre-a-1", "netre-b-1"}
    for name, (cid, state) in after.items():
        assert state == "running"
        assert cid != before[name][0], f"{name} was not recreated"
        assert _attached(api, name) == new_net

    again = project("up", "-d")  # converged: nothing recreated, nothing started
    assert again.code == 0, again.err
    assert _states(api) == after


def test_stopped_containers_whose_network_is_gone_get_a_new_one(
    project: Runner, api: docker.APIClient
) -> None:
    assert project("up", "-d").code == 0
    assert project("stop", "-t", "0").code == 0
    api.remove_network(NET)

    dry = project("--dry-run", "up", "-d")
    assert dry.code == 0, dry.err
    assert f"network {NET} is missing" in dry.out, dry.out

    up = project("up", "-d")
    assert up.code == 0, up.err
    net = api.inspect_network(NET)["Id"]
    for name, (_cid, state) in _states(api).items():
        assert state == "running", name
        assert _attached(api, name) == net


def test_created_but_never_started_containers_are_not_recreated(
    project: Runner, api: docker.APIClient
) -> None:
    assert project("up", "--no-start").code == 0
    created = _states(api)
    assert {state for _id, state in created.values()} == {"created"}
    up = project("up", "-d")
    assert up.code == 0, up.err
    started = _states(api)
    assert {name: cid for name, (cid, _s) in started.items()} == {n: c for n, (c, _s) in created.items()}
    assert {state for _id, state in started.values()} == {"running"}


def test_a_network_whose_configuration_changed_is_created_again_with_its_containers(
    project: Runner, api: docker.APIClient, project_dir: Path
) -> None:
    assert project("up", "-d").code == 0
    assert project("stop", "-t", "0", "b").code == 0  # one running, one stopped: both move
    old_net = api.inspect_network(NET)["Id"]
    before = _states(api)
    (project_dir / "compose.yaml").write_text(PROJECT + "networks:\n  default:\n    labels: {tier: front}\n")

    dry = project("--dry-run", "up", "-d")
    assert dry.code == 0, dry.err
    assert f"network {NET} configuration changed" in dry.out, dry.out

    up = project("up", "-d")
    assert up.code == 0, up.err
    net = api.inspect_network(NET)
    assert net["Id"] != old_net and net["Labels"]["tier"] == "front"
    after = _states(api)
    for name, (cid, state) in after.items():
        assert state == "running", name
        assert cid != before[name][0], f"{name} was not recreated"
        assert _attached(api, name) == net["Id"]

    again = project("up", "-d")  # converged: the recorded hash matches now
    assert again.code == 0, again.err
    assert _states(api) == after and api.inspect_network(NET)["Id"] == net["Id"]
