"""A private engine per module and a `composer` runner pointed at it (a real subprocess, as users run it)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from tests.support.engine import EngineProcess, running_engine

REPO = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


Runner = Callable[..., Result]


@pytest.fixture(scope="module")
def compose_engine() -> Iterator[EngineProcess]:
    with running_engine() as eng:
        yield eng


@pytest.fixture
def api(compose_engine: EngineProcess) -> Iterator[docker.APIClient]:
    client = docker.APIClient(base_url=compose_engine.docker_host, version="1.41")
    yield client
    client.close()
    compose_engine.remove_all_containers()
    for vol in compose_engine.json("GET", "/volumes").get("Volumes") or []:
        compose_engine.request("DELETE", f"/volumes/{vol['Name']}?force=1")


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def composer(compose_engine: EngineProcess, project_dir: Path) -> Runner:
    def run(*args: str, timeout: float = 60, env: dict[str, str] | None = None) -> Result:
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
        environ["DOCKER_HOST"] = compose_engine.docker_host
        # this checkout's composer, not an installed one: `-m` from the project dir would import that
        environ["PYTHONPATH"] = os.pathsep.join(filter(None, (str(REPO), environ.get("PYTHONPATH"))))
        environ.update(env or {})
        proc = subprocess.run(
            [sys.executable, "-m", "composer.cli.main", *args],
            cwd=project_dir,
            env=environ,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run
