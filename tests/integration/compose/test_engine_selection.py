"""Engine selection: with no -H/DOCKER_HOST composer starts the embedded engine (seeding busybox:latest
from busybox-static) and says so in one line; `composer engine ...` manages it; the reference Docker
Compose binary sees the containers composer made (same labels)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from composer.client import ping
from composer.embedded import places, stop_embedded_engine
from tests.integration.compose.conftest import Runner
from tests.support.engine import EngineProcess
from tests.support.reference import reference_binary

pytestmark = pytest.mark.root

PROJECT = "name: emb\nservices:\n  app: {image: busybox:latest, command: sleep 1000, init: true}\n"


@pytest.fixture
def embedded_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="ce-emb-", dir="/tmp"))  # short: the socket path must fit
    yield root
    env = {"COMPOSER_ENGINE_ROOT": str(root)}
    where = places(env)
    if ping(where.host, env):  # a test that failed half-way: remove its containers, stop its daemon
        leftover = EngineProcess(root)
        leftover.remove_all_containers()
    stop_embedded_engine(env)
    EngineProcess(root).cleanup()  # kills leftovers, unmounts, removes cgroups and the directory


def _composer(root: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "COMPOSE_"))}
    env["COMPOSER_ENGINE_ROOT"] = str(root)
    return subprocess.run(
        [sys.executable, "-m", "composer.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_embedded_engine_starts_on_demand_and_is_managed(embedded_root: Path, tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(PROJECT)
    status = _composer(embedded_root, tmp_path, "engine", "status")
    assert status.returncode == 3 and status.stdout.startswith("not running")
    up = _composer(embedded_root, tmp_path, "up", "-d")
    assert up.returncode == 0, up.stderr
    assert up.stderr.splitlines()[0] == (
        f"Started the embedded engine at unix://{embedded_root}/e.sock (log: {embedded_root}/exec/engine.log)"
    )
    ps = _composer(embedded_root, tmp_path, "ps", "-q")
    assert len(ps.stdout.split()) == 1
    assert _composer(embedded_root, tmp_path, "engine", "status").returncode == 0
    assert "INFO" in _composer(embedded_root, tmp_path, "engine", "logs", "--tail", "5").stdout
    again = _composer(embedded_root, tmp_path, "engine", "start")
    assert again.stdout.startswith("The embedded engine is already running")
    assert _composer(embedded_root, tmp_path, "down", "-t", "0").returncode == 0
    stop = _composer(embedded_root, tmp_path, "engine", "stop")
    assert stop.stdout.startswith("Stopped the embedded engine")
    assert _composer(embedded_root, tmp_path, "engine", "status").returncode == 3


@pytest.mark.reference
def test_reference_compose_sees_composer_containers(
    composer: Runner, compose_engine: EngineProcess, project_dir: Path
) -> None:
    binary = reference_binary()
    assert binary, "the reference docker-compose binary is required"
    (project_dir / "compose.yaml").write_text(
        "name: emb\nservices:\n  app: {image: busybox:latest, command: sleep 1000, init: true, scale: 2}\n"
    )
    assert composer("up", "-d").code == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "COMPOSE_"))}
    env.update({"DOCKER_HOST": compose_engine.docker_host, "DOCKER_CONFIG": str(project_dir)})
    ref = subprocess.run(
        [str(binary), "ps", "--format", "json"],
        cwd=project_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ref.returncode == 0, ref.stderr
    rows = [json.loads(line) for line in ref.stdout.splitlines() if line.strip()]
    assert sorted((r["Name"], r["Service"], r["State"]) for r in rows) == [
        ("emb-app-1", "app", "running"),
        ("emb-app-2", "app", "running"),
    ]
    ours = composer("ps", "--format", "json")
    assert sorted(json.loads(line)["Name"] for line in ours.out.splitlines()) == ["emb-app-1", "emb-app-2"]
    # the reference's config hash of the service equals ours: it would not recreate our containers
    ref_hash = subprocess.run(
        [str(binary), "config", "--hash", "app"],
        cwd=project_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.split()[1]
    labels = compose_engine.json("GET", "/containers/emb-app-1/json")["Config"]["Labels"]
    assert labels["com.docker.compose.config-hash"] == ref_hash
    assert composer("down", "-t", "0").code == 0
