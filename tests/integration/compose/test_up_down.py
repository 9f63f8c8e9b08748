"""`up`/`down` against a real engine: ordering by depends_on conditions, idempotence, recreation, scaling,
clean removal, and clear one-line failures."""

from __future__ import annotations

import json
import time
from pathlib import Path

import docker
import pytest

from composer import labels as L
from tests.integration.compose.conftest import Runner
from tests.support.engine import EngineProcess

pytestmark = pytest.mark.root

PROJECT = """
name: shop
services:
  kv:
    image: busybox:latest
    command: sh -c 'sleep 0.5; touch /tmp/ready; exec sleep 1000'
    init: true
    volumes: [data:/data]
    healthcheck:
      test: ["CMD", "test", "-e", "/tmp/ready"]
      interval: 30s
      start_interval: 200ms
      start_period: 10s
  web:
    image: busybox:latest
    command: sleep 1000
    init: true
    environment: {COLOR: "blue"}
    depends_on: {kv: {condition: service_healthy}}
  worker:
    image: busybox:latest
    command: sleep 1000
    init: true
    deploy: {replicas: 2}
    depends_on: [kv]
volumes:
  data: {}
"""


def _containers(api: docker.APIClient, project: str = "shop") -> dict[str, dict]:  # type: ignore[type-arg]
    items = api.containers(all=True, filters={"label": [f"{L.PROJECT}={project}"]})
    return {i["Names"][0].lstrip("/"): i for i in items}


def test_up_orders_by_health_is_idempotent_recreates_scales_and_down_cleans(
    composer: Runner, api: docker.APIClient, project_dir: Path
) -> None:
    (project_dir / "compose.yaml").write_text(PROJECT)
    first = composer("up", "-d")
    assert first.code == 0, first.err
    found = _containers(api)
    assert sorted(found) == ["shop-kv-1", "shop-web-1", "shop-worker-1", "shop-worker-2"]
    assert all(c["State"] == "running" for c in found.values())
    kv = api.inspect_container("shop-kv-1")
    web = api.inspect_container("shop-web-1")
    assert kv["State"]["Health"]["Status"] == "healthy"
    assert web["State"]["StartedAt"] > kv["State"]["StartedAt"]
    assert " Container shop-kv-1  Healthy" in first.err
    assert " Container shop-kv-1  Waiting to be healthy (needed by web)" in first.err
    assert web["Config"]["Labels"][L.DEPENDS_ON] == "kv:service_healthy:false"
    ids = {n: c["Id"] for n, c in found.items()}

    # a second up changes nothing (its speed: bench/compose_up_20.py's no-change up -d)
    assert composer("--dry-run", "up", "-d").out.strip() == "Nothing to do: the project is up to date"
    again = composer("up", "-d")
    assert again.code == 0 and again.err == ""
    assert {n: c["Id"] for n, c in _containers(api).items()} == ids

    # a changed service is recreated, the others are left alone
    (project_dir / "compose.yaml").write_text(PROJECT.replace("blue", "green"))
    dry = composer("--dry-run", "up", "-d")
    assert "Container shop-web-1: Create (recreate: config hash changed: environment)" in dry.out
    assert "shop-worker" not in dry.out and "shop-kv" not in dry.out
    recreated = composer("--progress", "plain", "up", "-d")
    assert recreated.code == 0, recreated.err
    # as Compose words it: the replaced container reads Recreate -> Recreated, not stop/remove/create
    web_lines = [line.split()[-1] for line in recreated.err.splitlines() if "shop-web-1 " in line]
    assert web_lines == ["Recreate", "Recreated", "Starting", "Started"], recreated.err
    now = {n: c["Id"] for n, c in _containers(api).items()}
    assert now["shop-web-1"] != ids["shop-web-1"]
    assert {n: i for n, i in now.items() if n != "shop-web-1"} == {
        n: i for n, i in ids.items() if n != "shop-web-1"
    }
    assert "COLOR=green" in api.inspect_container("shop-web-1")["Config"]["Env"]

    # scale up and down by number
    assert composer("up", "-d", "--scale", "worker=3").code == 0
    assert "shop-worker-3" in _containers(api)
    assert composer("up", "-d").code == 0
    assert "shop-worker-3" not in _containers(api)

    # down -v leaves nothing of the project
    down = composer("down", "-v", "-t", "1")
    assert down.code == 0, down.err
    assert _containers(api) == {}
    assert not [v for v in api.volumes().get("Volumes") or [] if v["Name"] == "shop_data"]
    assert composer("down").code == 0  # deleting what is gone is success


def test_unhealthy_dependency_fails_with_one_line_and_next_up_repairs(
    composer: Runner, api: docker.APIClient, project_dir: Path
) -> None:
    (project_dir / "compose.yaml").write_text(
        """
name: sick
services:
  db:
    image: busybox:latest
    command: sleep 1000
    init: true
    healthcheck: {test: ["CMD", "false"], interval: 200ms, retries: 1}
  app:
    image: busybox:latest
    command: sleep 1000
    depends_on: {db: {condition: service_healthy}}
"""
    )
    res = composer("up", "-d")
    assert res.code == 1
    last = res.err.strip().splitlines()[-1]
    assert last == "service db: dependency failed to start: container sick-db-1 is unhealthy"
    assert api.inspect_container("sick-app-1")["State"]["Status"] == "created"  # labelled, not started
    assert composer("down", "-t", "0").code == 0


def test_completed_successfully_gates_and_failure_names_the_service(
    composer: Runner, api: docker.APIClient, project_dir: Path
) -> None:
    compose = """
name: jobs
services:
  migrate:
    image: busybox:latest
    command: sh -c 'sleep 0.3; exit {code}'
  app:
    image: busybox:latest
    command: sleep 1000
    init: true
    depends_on: {{migrate: {{condition: service_completed_successfully}}}}
"""
    (project_dir / "compose.yaml").write_text(compose.format(code=0))
    ok = composer("up", "-d")
    assert ok.code == 0, ok.err
    assert api.inspect_container("jobs-app-1")["State"]["Status"] == "running"
    assert api.inspect_container("jobs-migrate-1")["State"]["ExitCode"] == 0
    composer("down", "-t", "0")
    (project_dir / "compose.yaml").write_text(compose.format(code=3))
    bad = composer("up", "-d")
    assert bad.code == 1
    assert bad.err.strip().splitlines()[-1] == "service migrate didn't complete successfully: exit 3"
    composer("down", "-t", "0")


def test_missing_image_is_one_clear_line(composer: Runner, project_dir: Path) -> None:
    (project_dir / "compose.yaml").write_text(
        "name: nope\nservices:\n  ghost:\n    image: nosuch/ghost:1\n    pull_policy: never\n"
    )
    res = composer("up", "-d")
    assert res.code == 1
    assert res.err.strip() == "service ghost: image nosuch/ghost:1 is missing and pull_policy is never"


def test_wait_counts_a_one_shot_exit_zero_as_done(composer: Runner, project_dir: Path) -> None:
    (project_dir / "compose.yaml").write_text(
        "name: waity\nservices:\n  once: {image: busybox:latest, command: 'true'}\n"
        "  svc: {image: busybox:latest, command: sleep 1000, init: true}\n"
    )
    res = composer("up", "-d", "--wait", "--wait-timeout", "60", timeout=120)
    assert res.code == 0, res.err
    composer("down", "-t", "0")


def test_attached_up_prefixes_logs_and_returns_the_exit_code_from(
    composer: Runner, project_dir: Path
) -> None:
    (project_dir / "compose.yaml").write_text(
        "name: att\nservices:\n"
        "  job: {image: busybox:latest, command: sh -c 'echo hello from job; sleep 0.5; exit 7'}\n"
        "  side: {image: busybox:latest, command: sleep 1000, init: true}\n"
    )
    res = composer("up", "--exit-code-from", "job", "-t", "1", timeout=60)
    assert res.code == 7, res.err
    assert "job-1   | hello from job" in res.out  # padded to side-1
    assert "job-1 exited with code 7" in res.out  # the name without `project-`, as Compose v2
    composer("down", "-t", "0")


def test_ctrl_c_in_attached_up_stops_gracefully_and_exits_non_zero(
    compose_engine: EngineProcess, api: docker.APIClient, project_dir: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys

    (project_dir / "compose.yaml").write_text(
        "name: intr\nservices:\n"
        "  db: {image: busybox:latest, command: sh -c 'echo db up; exec sleep 1000', init: true}\n"
        "  app: {image: busybox:latest, command: sh -c 'echo app up; exec sleep 1000', init: true,"
        " depends_on: [db]}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "COMPOSE_"))}
    env["DOCKER_HOST"] = compose_engine.docker_host
    proc = subprocess.Popen(
        [sys.executable, "-m", "composer.cli.main", "--ansi", "never", "up"],
        cwd=project_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        seen: set[str] = set()
        while len(seen) < 2:
            line = proc.stdout.readline()
            assert line, "composer up ended before the services logged"
            seen |= {w for w in ("db up", "app up") if w in line}
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert "Gracefully stopping... (press Ctrl+C again to force)" in err
    assert err.index(" Container intr-app-1  Stopped") < err.index(" Container intr-db-1  Stopping")
    states = {
        c["Names"][0]: c["State"]
        for c in api.containers(all=True, filters={"label": ["com.docker.compose.project=intr"]})
    }
    assert states == {"/intr-app-1": "exited", "/intr-db-1": "exited"}


def test_port_already_taken_is_one_line_and_the_next_up_repairs(
    composer: Runner, api: docker.APIClient, project_dir: Path
) -> None:
    import socket

    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    (project_dir / "compose.yaml").write_text(
        "name: taken\nservices:\n"
        f"  web: {{image: busybox:latest, command: sleep 1000, init: true, ports: ['127.0.0.1:{port}:80']}}\n"
    )
    try:
        res = composer("up", "-d")
    finally:
        holder.close()
    assert res.code == 1
    last = res.err.strip().splitlines()[-1]
    assert last.startswith("service web: starting container taken-web-1: ") and str(port) in last, last
    assert api.inspect_container("taken-web-1")["Config"]["Labels"]["com.docker.compose.project"] == "taken"
    repaired = composer("up", "-d")
    assert repaired.code == 0, repaired.err
    assert api.inspect_container("taken-web-1")["State"]["Status"] == "running"
    assert composer("down", "-t", "0").code == 0


CHAIN = """
name: chain
services:
  db: {image: busybox:latest, command: sleep 1000, init: true}
  api: {image: busybox:latest, command: sleep 1000, init: true, depends_on: [db], deploy: {replicas: 2}}
  web: {image: busybox:latest, command: sleep 1000, init: true, depends_on: [api]}
"""


def test_down_stops_dependents_before_their_dependencies_and_removes_the_network_last(
    composer: Runner, api: docker.APIClient, compose_engine: EngineProcess, project_dir: Path
) -> None:
    """A dependency is signalled only once every container of its dependents has stopped; their removals
    may run meanwhile; the network goes after every container."""
    (project_dir / "compose.yaml").write_text(CHAIN)
    assert (up := composer("up", "-d")).code == 0, up.err
    since = time.time()
    assert (down := composer("down", "-t", "5")).code == 0, down.err
    until = time.time() + 1
    reply = compose_engine.request("GET", f"/events?since={since:.6f}&until={until:.6f}")
    events = [json.loads(line) for line in reply.body.decode().splitlines() if line.strip()]
    at: dict[str, dict[str, int]] = {}
    network_gone = [e["timeNano"] for e in events if e["Type"] == "network" and e["Action"] == "destroy"]
    for e in events:
        if e["Type"] == "container":
            at.setdefault(e["Actor"]["Attributes"]["name"], {})[e["Action"]] = e["timeNano"]
    assert sorted(at) == ["chain-api-1", "chain-api-2", "chain-db-1", "chain-web-1"]
    for name, seen in at.items():
        assert seen["kill"] <= seen["die"] <= seen["stop"] <= seen["destroy"], (name, seen)
    assert at["chain-web-1"]["stop"] <= min(at["chain-api-1"]["kill"], at["chain-api-2"]["kill"])
    assert max(at["chain-api-1"]["stop"], at["chain-api-2"]["stop"]) <= at["chain-db-1"]["kill"]
    assert len(network_gone) == 1 and network_gone[0] >= max(seen["destroy"] for seen in at.values())
    assert not _containers(api, "chain")
