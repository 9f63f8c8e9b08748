"""`up -d`, `down -t 0`, `up -d` in a loop: `down` removes every container (none is left behind holding the
old network's id) and the next `up` starts the whole project on the new network.

The race behind the old failure: with init: true the stop signal ends the container at once, the exit
handler deletes the runtime's state, and the SIGKILL that follows a 0 s grace found no runtime container.
The engine answered 404 to the stop and to the forced remove, `down` took that as "already gone", left the
container, removed the network, and the next `up` failed with "network <old id> not found"."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from composer import labels as L
from tests.integration.compose.conftest import Runner

pytestmark = pytest.mark.root

SERVICES = 20
ROUNDS = 5


def _project() -> str:
    lines = ["name: recreate", "services:"]
    for i in range(SERVICES):
        lines += [f"  s{i:02d}:", "    image: busybox:latest", "    command: sleep 100000", "    init: true"]
    return "\n".join(lines) + "\n"


def _containers(api: docker.APIClient) -> list[dict]:  # type: ignore[type-arg]
    return api.containers(all=True, filters={"label": [f"{L.PROJECT}=recreate"]})  # type: ignore[no-any-return]


def test_up_after_down_t0_starts_everything_on_the_new_network(
    composer: Runner, api: docker.APIClient, project_dir: Path
) -> None:
    (project_dir / "compose.yaml").write_text(_project())
    try:
        for round_ in range(ROUNDS):
            up = composer("up", "-d")
            assert up.code == 0, f"round {round_}: {up.err}"
            down = composer("down", "-t", "0")  # at once: the race is with containers just started
            assert down.code == 0, f"round {round_}: {down.err}"
            left = [(c["Names"][0], c["State"]) for c in _containers(api)]
            assert left == [], f"round {round_}: down left {left}"
            assert api.networks(names=["recreate_default"]) == []
        up = composer("up", "-d")
        assert up.code == 0, up.err
        found = _containers(api)
        assert len(found) == SERVICES
        assert {c["State"] for c in found} == {"running"}
        net = api.inspect_network("recreate_default")
        for c in found:
            assert c["NetworkSettings"]["Networks"]["recreate_default"]["NetworkID"] == net["Id"]
    finally:
        composer("down", "-t", "0")
