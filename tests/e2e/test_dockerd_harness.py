"""The comparison harness itself: private dockerds (tests/support/dockerd.py) each get a bridge of their own
(never the shared `docker0`), so two at once keep their default networks; everything they made - their
bridge, their networks' br-*, the veths of their containers - is gone after they stop."""

from __future__ import annotations

import subprocess

import pytest

from tests.e2e.both import Engine
from tests.support import dockerd

pytestmark = [
    pytest.mark.root,
    pytest.mark.e2e,
    pytest.mark.skipif(not dockerd.dockerd_installed(), reason="dockerd is not installed"),
]


def _docker(env: dict[str, str], *args: str) -> str:
    res = subprocess.run([dockerd.DOCKER, *args], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, f"docker {args}: {res.stderr}"
    return res.stdout.strip()


def _address(link: str) -> str:
    out = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", link], capture_output=True, text=True)
    return out.stdout.split()[3]


def _enslaved(bridge: str) -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show", "master", bridge], capture_output=True, text=True)
    return {line.split(":", 2)[1].strip().split("@")[0] for line in out.stdout.splitlines()}


def test_two_private_dockerds_each_have_their_own_bridge_and_leave_nothing() -> None:
    docker0_before = "docker0" in dockerd.links()
    made: set[str] = set()
    with dockerd.private_dockerd() as (env1, tmp1, _d1), dockerd.private_dockerd() as (env2, tmp2, _d2):
        b1, b2 = dockerd.bridge_name(tmp1), dockerd.bridge_name(tmp2)
        assert b1 != b2 and {b1, b2} <= dockerd.links()
        assert _address(b1) != _address(b2)
        for env, bridge in ((env1, b1), (env2, b2)):
            # the default network is this dockerd's own bridge, and a container on it reaches the gateway
            shown = _docker(env, "network", "inspect", "bridge", "--format",
                            '{{index .Options "com.docker.network.bridge.name"}}')
            assert shown == bridge
            gateway = _address(bridge).split("/")[0]
            _docker(env, "run", "-d", "--name", "c1", "busybox", "sleep", "60")
            _docker(env, "run", "--rm", "busybox", "ping", "-c", "1", "-W", "5", gateway)
            _docker(env, "network", "create", "user1")
            _docker(env, "run", "-d", "--name", "c2", "--network", "user1", "busybox", "sleep", "60")
            nets = dockerd.network_bridges(env)
            assert bridge in nets and len(nets) == 2
            veths = set().union(*(_enslaved(b) for b in nets))
            assert len(veths) == 2, veths
            made |= nets | veths
        assert ("docker0" in dockerd.links()) == docker0_before, "a private dockerd made docker0"
    assert made & dockerd.links() == set(), f"left behind: {made & dockerd.links()}"


def test_either_runs_the_same_calls_on_both_engines(either: Engine) -> None:
    """The `either` fixture: the same busybox image (same id) on both, and the same answers."""
    assert either.cli("run", "--rm", "busybox", "echo", "hi").out == "hi\n"
    image = either.api("GET", "/images/busybox:latest/json").json()
    assert image["Id"].startswith("sha256:")
    assert either.client().containers.run("busybox", ["echo", "py"], remove=True) == b"py\n"
