"""The examples really come up: each one brought up with composer against a private engine and taken
down again leaving nothing of the project behind."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from composer import labels as L
from tests.integration.compose.conftest import Runner

pytestmark = pytest.mark.root

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _leftovers(api: docker.APIClient, project: str) -> list[str]:
    selector = {"label": [f"{L.PROJECT}={project}"]}
    names = [c["Names"][0] for c in api.containers(all=True, filters=selector)]
    names += [v["Name"] for v in api.volumes(filters=selector).get("Volumes") or []]
    return names


def test_build_example_builds_runs_and_down_v_leaves_nothing(composer: Runner, api: docker.APIClient) -> None:
    compose_file = str(EXAMPLES / "build" / "compose.yaml")
    up = composer("-f", compose_file, "up", "--build", env={"GREETING": "howdy"}, timeout=120)
    assert up.code == 0, up.err
    assert "hello-1  | howdy from a composer-built image" in up.out
    assert "build-example-hello-1 exited with code 0" in up.out
    assert " Image build-example/hello:latest  Built" in up.err
    # unchanged context and args: the rebuild hits the cache, so nothing is recreated
    first_id = api.inspect_container("build-example-hello-1")["Id"]
    again = composer("-f", compose_file, "up", "--build", "-d", env={"GREETING": "howdy"}, timeout=120)
    assert again.code == 0, again.err
    assert api.inspect_container("build-example-hello-1")["Id"] == first_id
    down = composer("-f", compose_file, "down", "-v", "--rmi", "all")
    assert down.code == 0, down.err
    assert _leftovers(api, "build-example") == []
    assert not api.images(name="build-example/hello")
