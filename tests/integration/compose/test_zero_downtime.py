"""Zero-downtime `up`: a two-replica web service with a healthcheck and `update_config.order: start-first`
is rolled out while a client hammers its published port over loopback: no request fails, the new version
answers at the end, and the containers keep Compose's names and numbers. A new version that never gets
healthy is rolled back: the old containers keep serving (still no failed request) and `up` fails saying why.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import docker
import pytest

from tests.integration.compose.conftest import Runner
from tests.support.hammer import Hammer
from tests.support.registry import free_port

pytestmark = pytest.mark.root

PROJECT = """
name: zdt
services:
  web:
    image: busybox:latest
    command: [sh, -c, 'mkdir -p /www && echo "$$VERSION" > /www/index.html && exec httpd -f -p 80 -h /www']
    environment: {{VERSION: "{version}"}}
    ports: ["127.0.0.1:{port}:80"]
    healthcheck:
      test: {test}
      interval: 300ms
      timeout: 2s
      retries: 3
    deploy:
      replicas: 2
      update_config: {{order: {order}, parallelism: 1, delay: 200ms}}
    init: true  # httpd as PID 1 would ignore SIGTERM: every stop would wait for the kill
"""
HEALTHY = '[CMD, wget, -q, -O, /dev/null, "http://127.0.0.1/"]'


def _write(
    project_dir: Path, port: int, version: str, *, test: str = HEALTHY, order: str = "start-first"
) -> None:
    (project_dir / "compose.yaml").write_text(
        PROJECT.format(port=port, version=version, test=test, order=order)
    )


def _containers(api: docker.APIClient) -> dict[str, tuple[str, str, str]]:
    """name -> (id, state, container-number label)."""
    found = api.containers(all=True, filters={"label": ["com.docker.compose.project=zdt"]})
    return {
        c["Names"][0].lstrip("/"): (c["Id"], c["State"], c["Labels"]["com.docker.compose.container-number"])
        for c in found
    }


def _get(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
        return str(resp.read().decode().strip())


def _up_healthy(composer: Runner, api: docker.APIClient) -> None:
    up = composer("up", "-d", "--wait", timeout=120)
    assert up.code == 0, up.err
    assert set(_containers(api)) == {"zdt-web-1", "zdt-web-2"}


def test_rollout_drops_no_request(composer: Runner, api: docker.APIClient, project_dir: Path) -> None:
    port = free_port()
    _write(project_dir, port, "v1")
    _up_healthy(composer, api)
    assert _get(port) == "v1"
    before = _containers(api)

    _write(project_dir, port, "v2")
    with Hammer(port, limit=4000) as load:
        time.sleep(0.3)  # the load runs before the rollout begins
        up = composer("up", "-d", timeout=180)
        time.sleep(0.3)  # and after it ended
    assert up.code == 0, up.err
    assert load.failures == [], f"{len(load.failures)} of {load.sent} requests failed: {load.failures[:5]}"
    assert load.sent > 100 and load.bodies["v1"] > 0 and load.bodies["v2"] > 0, load.bodies
    assert _get(port) == "v2"
    after = _containers(api)
    # Compose's names and numbers, new containers, all running; the parked old ones are gone
    assert {n: (s, num) for n, (_, s, num) in after.items()} == {
        "zdt-web-1": ("running", "1"),
        "zdt-web-2": ("running", "2"),
    }
    assert not {cid for cid, _, _ in after.values()} & {cid for cid, _, _ in before.values()}
    assert "Healthy" in up.err  # the new container was waited for
    rows = [json.loads(line) for line in composer("ps", "--format", "json").out.splitlines()]
    assert sorted(r["Name"] for r in rows) == ["zdt-web-1", "zdt-web-2"]
    # converged: a second up changes nothing
    again = composer("up", "-d")
    assert again.code == 0 and "Recreate" not in again.err, again.err
    assert composer("down").code == 0


def test_unhealthy_rollout_is_rolled_back(composer: Runner, api: docker.APIClient, project_dir: Path) -> None:
    port = free_port()
    _write(project_dir, port, "v1")
    _up_healthy(composer, api)
    before = _containers(api)

    _write(project_dir, port, "v2", test="[CMD, wget, -q, -O, /dev/null, 'http://127.0.0.1/missing']")
    with Hammer(port, limit=3000) as load:
        up = composer("up", "-d", timeout=180)
    assert up.code != 0
    assert "container zdt-web-1 was not updated: container zdt-web-1 is unhealthy; rolled back" in up.err, (
        up.err
    )
    assert "Traceback" not in up.err
    assert load.failures == [], load.failures[:5]
    assert set(load.bodies) == {"v1"}  # the unhealthy new version never got a request
    assert _containers(api) == before  # same containers, names and numbers, still running
    assert _get(port) == "v1"
    assert composer("down").code == 0


def test_stop_first_is_compose_behaviour(composer: Runner, api: docker.APIClient, project_dir: Path) -> None:
    """Without start-first the update is Compose's: the old container stops before the new one starts."""
    port = free_port()
    _write(project_dir, port, "v1", order="stop-first")
    _up_healthy(composer, api)
    _write(project_dir, port, "v2", order="stop-first")
    dry = composer("--dry-run", "up", "-d")
    assert (
        "Replace start-first" not in dry.out and "Container zdt-web-1: Stop (config hash changed" in dry.out
    )
    _write(project_dir, port, "v2", order="start-first")
    dry = composer("--dry-run", "up", "-d")
    assert "Container zdt-web-1: Replace start-first (start-first update: config hash changed" in dry.out
    # the opt-in default: services without an order follow COMPOSER_UPDATE_ORDER
    (project_dir / "compose.yaml").write_text(
        (project_dir / "compose.yaml").read_text().replace("order: start-first, ", "")
    )
    assert "Replace start-first" not in composer("--dry-run", "up", "-d").out
    opted = composer("--dry-run", "up", "-d", env={"COMPOSER_UPDATE_ORDER": "start-first"})
    assert "Replace start-first" in opted.out, opted.out + opted.err
    bad = composer("up", "-d", env={"COMPOSER_UPDATE_ORDER": "sideways"})
    assert bad.code != 0 and "invalid COMPOSER_UPDATE_ORDER='sideways'" in bad.err
    assert composer("down").code == 0
