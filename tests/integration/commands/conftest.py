"""Fixtures for the command tests: a private engine per module, a project directory, project containers
made through the Engine API with Compose's labels (as `up` would make them), and `composer` run as a
real subprocess against that engine."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from tests.support.engine import EngineProcess, running_engine
from tests.support.reference import reference_binary

PROJECT = "demo"
# the real binary that the `compose` pip package wraps (its wrapper script hides exit codes)
REFERENCE = reference_binary() or "docker-compose"

COMPOSE = """\
name: demo
services:
  web:
    image: busybox:latest
    command: ["sh", "-c", "echo web says hi; sleep 3600"]
    ports: ["8080"]
  worker:
    image: busybox:latest
    command: ["sh", "-c", "echo worker ready; sleep 3600"]
  once:
    image: busybox:latest
    command: ["sh", "-c", "exit 3"]
"""


@pytest.fixture(scope="module")
def module_engine() -> Iterator[EngineProcess]:
    if os.geteuid() != 0:
        pytest.skip("needs root; CI runs as root")
    with running_engine() as eng:
        yield eng


@dataclass
class Project:
    """A project directory plus the engine it runs on."""

    engine: EngineProcess
    path: Path
    api: docker.APIClient

    def composer(
        self, *args: str, input: bytes | None = None, timeout: float = 60, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "composer.cli.main", *args],
            cwd=self.path,
            env={**_env(), "DOCKER_HOST": self.engine.docker_host},
            input=input.decode() if input is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check:
            assert proc.returncode == 0, f"composer {' '.join(args)} -> {proc.returncode}: {proc.stderr}"
        return proc

    def reference(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """The reference Docker Compose v2 binary (not the pip wrapper, which hides exit codes)."""
        return subprocess.run(
            [REFERENCE, *args],
            cwd=self.path,
            env={**_env(), "DOCKER_HOST": self.engine.docker_host},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "composer.cli.main", *args],
            cwd=self.path,
            env={**_env(), "DOCKER_HOST": self.engine.docker_host},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def container(
        self,
        service: str,
        number: int = 1,
        *,
        cmd: list[str] | None = None,
        start: bool = True,
        **config: Any,
    ) -> str:
        """Create (and start) `demo-<service>-<number>` with the labels `up` gives it."""
        labels = {
            "com.docker.compose.project": PROJECT,
            "com.docker.compose.service": service,
            "com.docker.compose.container-number": str(number),
            "com.docker.compose.oneoff": "False",
            "com.docker.compose.project.working_dir": str(self.path),
            "com.docker.compose.project.config_files": str(self.path / "compose.yaml"),
            # the reference lists only containers that carry these too
            "com.docker.compose.version": "2.40.3",
            "com.docker.compose.config-hash": "0" * 64,
            "com.docker.compose.image": self.api.inspect_image("busybox:latest")["Id"],
        }
        host_config = config.pop("host_config", None)
        created = self.api.create_container(
            "busybox:latest",
            cmd or ["sleep", "3600"],
            name=f"{PROJECT}-{service}-{number}",
            labels=labels,
            host_config=host_config,
            **config,
        )
        cid = str(created["Id"])
        if start:
            self.api.start(cid)
        return cid


def _env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "PYTHONPATH")
    root = str(Path(__file__).resolve().parents[3])
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if "PYTHONPATH" in env else "")
    return env


@pytest.fixture
def project(module_engine: EngineProcess, tmp_path: Path) -> Iterator[Project]:
    """The demo project on the module's engine; its containers are removed afterwards."""
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(COMPOSE))
    api = docker.APIClient(base_url=module_engine.docker_host, version="auto", timeout=60)
    try:
        yield Project(module_engine, tmp_path, api)
    finally:
        module_engine.remove_all_containers()
        _remove_project_resources(api)
        api.close()


def _remove_project_resources(api: docker.APIClient) -> None:
    """Networks and volumes a command made for the project (run creates the default network)."""
    project_label = {"label": ["com.docker.compose.project"]}
    with contextlib.suppress(docker.errors.APIError):
        for net in api.networks(filters=project_label):
            with contextlib.suppress(docker.errors.APIError):
                api.remove_network(net["Id"])
    with contextlib.suppress(docker.errors.APIError):
        for vol in api.volumes(filters=project_label).get("Volumes") or []:
            with contextlib.suppress(docker.errors.APIError):
                api.remove_volume(vol["Name"], force=True)
