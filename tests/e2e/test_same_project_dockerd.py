"""The same project (examples/webapp: web + kv + worker, a healthcheck-gated start, a published port, a
named volume) driven by composer with `-H unix://...` against our embedded engine and against a private
dockerd (Debian's docker.io; tests/support/dockerd.py), and what matters compared: every command's exit
status, the services running and healthy, the page served on the published port, the worker's writes
reaching the store over the project network (exec), its logs, and nothing of the project left after
`down -v`. busybox reaches dockerd as a `docker save` archive of our engine's image, `docker load`ed.
The dockerd is stopped, and its processes, bridges, mounts and cgroups are gone afterwards."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import dockerd
from tests.support.engine import EngineProcess

pytestmark = [
    pytest.mark.root,
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("dockerd") is None, reason="dockerd is not installed"),
]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "webapp"
PROJECT = "webapp"


@dataclass(frozen=True)
class Outcome:
    """What one engine did with the project; two engines must give equal outcomes."""

    codes: tuple[tuple[str, int], ...]  # (command, exit status) in order
    services: tuple[tuple[str, str, str], ...]  # (service, state, health) from `ps --format json`
    page: str  # the body served on the published port
    stored: bool  # the worker's jobs are in the store (read through exec over the project network)
    worker_logged: bool  # `logs worker` shows the store's answers
    left: tuple[str, ...]  # the project's containers, networks, volumes after `down -v`


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _docker(host: str, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env.update({"DOCKER_HOST": host, "DOCKER_CLI_HINTS": "false"})
    return subprocess.run([dockerd.DOCKER, *args], env=env, input=input, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def busybox_archive(engine_handle: EngineProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """busybox:latest as `docker save` writes it, saved from our engine."""
    path = tmp_path_factory.mktemp("archive") / "busybox.tar"
    saved = _docker(engine_handle.docker_host, "save", "-o", str(path), "busybox:latest")
    assert saved.returncode == 0, saved.stderr.decode()
    return path


@pytest.fixture(scope="module")
def dockerd_host(busybox_archive: Path) -> Iterator[str]:
    with dockerd.private_dockerd(with_busybox=False) as (_env, tmp, daemon):
        host = f"unix://{tmp}/docker.sock"
        loaded = _docker(host, "load", "-i", str(busybox_archive))
        assert loaded.returncode == 0, loaded.stderr.decode()
        yield host
    assert daemon.poll() is not None
    assert dockerd.pids_mentioning(tmp) == [], "dockerd, containerd or a shim outlived the test"
    assert dockerd.bridge_name(tmp) not in dockerd.links(), "dockerd's bridge was left behind"
    assert not Path(tmp).exists() and dockerd.mounts_under(Path(tmp)) == []


def _project(dest: Path, port: int) -> Path:
    """The example, copied, with its host port made free (8080 may be taken on a shared machine)."""
    shutil.copytree(EXAMPLE, dest)
    compose = dest / "compose.yaml"
    text = compose.read_text()
    assert '"8080:80"' in text
    compose.write_text(text.replace('"8080:80"', f'"127.0.0.1:{port}:80"'))
    return dest


def _fetch(url: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as reply:
                return str(reply.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _run_project(host: str, workdir: Path, port: int) -> Outcome:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "COMPOSE_"))}
    codes: list[tuple[str, int]] = []

    def composer(*args: str) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "composer.cli.main", "-H", host, *args],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        codes.append((" ".join(a for a in args if not a.startswith("/")), proc.returncode))
        assert proc.returncode == 0, f"composer {' '.join(args)} against {host}: {proc.stderr}"
        return proc.stdout

    try:
        composer("up", "-d", "--wait", "--wait-timeout", "60")
        rows = [json.loads(line) for line in composer("ps", "--format", "json").splitlines() if line.strip()]
        services = tuple(sorted((r["Service"], r["State"], r.get("Health", "")) for r in rows))
        page = _fetch(f"http://127.0.0.1:{port}/")
        deadline = time.monotonic() + 60
        while "job " not in (
            stored := composer("exec", "-T", "web", "sh", "-c", "echo GET | nc -w 1 kv 6379")
        ):
            assert time.monotonic() < deadline, f"no job reached the store: {stored!r}"
            time.sleep(0.5)
        logged = "OK" in composer("logs", "--no-log-prefix", "worker").split()
    finally:
        down = subprocess.run(
            [sys.executable, "-m", "composer.cli.main", "-H", host, "down", "-v", "-t", "1"],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        codes.append(("down -v -t 1", down.returncode))
    label = f"label=com.docker.compose.project={PROJECT}"
    left = []
    for kind, args in (
        ("container", ("ps", "-aq", "--filter", label)),
        ("network", ("network", "ls", "-q", "--filter", label)),
        ("volume", ("volume", "ls", "-q", "--filter", label)),
    ):
        listed = _docker(host, *args)
        assert listed.returncode == 0, listed.stderr.decode()
        left += [f"{kind} {line}" for line in listed.stdout.decode().split()]
    return Outcome(tuple(codes), services, page, "job " in stored, logged, tuple(left))


def test_the_same_project_behaves_the_same_on_our_engine_and_on_dockerd(
    engine_handle: EngineProcess, dockerd_host: str, tmp_path: Path
) -> None:
    outcomes = {}
    for name, host in (("ours", engine_handle.docker_host), ("dockerd", dockerd_host)):
        port = _free_port()
        workdir = _project(tmp_path / name / "webapp", port)
        outcomes[name] = _run_project(host, workdir, port)
    ours, theirs = outcomes["ours"], outcomes["dockerd"]
    assert ours.services == (
        ("kv", "running", "healthy"),
        ("web", "running", "healthy"),
        ("worker", "running", ""),
    ), ours
    assert "Hello from busybox httpd, served by composer." in ours.page
    assert ours.stored and ours.worker_logged
    assert ours.left == ()
    assert ours == theirs
