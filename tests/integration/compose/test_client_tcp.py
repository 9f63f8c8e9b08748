"""composer's own Engine API client over tcp://: the same commands as on the unix socket, streams included
(build context upload, the hijacked exec, multiplexed logs, archives), against our engine listening on
loopback TCP. docker-py checks the result independently."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.support.engine import EngineProcess, running_engine

pytestmark = pytest.mark.root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def tcp_engine() -> Iterator[tuple[EngineProcess, str]]:
    host = f"tcp://127.0.0.1:{_free_port()}"
    with running_engine(extra_args=("-H", host)) as eng:
        yield eng, host


def _composer(project: Path, host: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    return subprocess.run(
        [sys.executable, "-m", "composer.cli.main", "-H", host, *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_up_build_logs_exec_cp_and_down_over_tcp(
    tcp_engine: tuple[EngineProcess, str], tmp_path: Path
) -> None:
    eng, host = tcp_engine
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM busybox\nCOPY hello.txt /hello.txt\n")
    (tmp_path / "app" / "hello.txt").write_text("from the build context\n")
    (tmp_path / "app" / "secret.txt").write_text("left out\n")
    (tmp_path / "app" / ".dockerignore").write_text("secret.txt\n")
    (tmp_path / "compose.yaml").write_text(
        "name: overtcp\n"
        "services:\n"
        "  web:\n"
        "    build: ./app\n"
        '    command: ["sh", "-c", "cat /hello.txt; echo to-stderr >&2; exec sleep 600"]\n'
    )
    up = _composer(tmp_path, host, "up", "-d")
    assert up.returncode == 0, up.stderr
    try:
        api = docker.APIClient(base_url=host, version="1.41")
        (found,) = api.containers(filters={"label": ["com.docker.compose.project=overtcp"]})
        assert found["Labels"]["com.docker.compose.service"] == "web"

        logs = _composer(tmp_path, host, "logs", "--no-log-prefix", "web")
        assert logs.returncode == 0, logs.stderr
        assert "from the build context" in logs.stdout and "to-stderr" in logs.stdout

        ls = _composer(tmp_path, host, "exec", "-T", "web", "ls", "/secret.txt", "/hello.txt")
        assert ls.returncode == 1  # the hijacked exec carries the command's own exit status
        assert "/hello.txt" in ls.stdout and "secret.txt" in ls.stderr

        copied = _composer(tmp_path, host, "cp", "web:/hello.txt", str(tmp_path / "out.txt"))
        assert copied.returncode == 0, copied.stderr
        assert (tmp_path / "out.txt").read_text() == "from the build context\n"
        api.close()
    finally:
        down = _composer(tmp_path, host, "down", "-t", "0", "--rmi", "local")
        assert down.returncode == 0, down.stderr
    assert eng.json("GET", "/containers/json?all=1") == []


def test_an_engine_error_over_tcp_is_one_line(tcp_engine: tuple[EngineProcess, str], tmp_path: Path) -> None:
    _eng, host = tcp_engine
    (tmp_path / "compose.yaml").write_text(
        "services:\n  x:\n    image: no-such-image-here:1\n    pull_policy: never\n"
    )
    result = _composer(tmp_path, host, "up", "-d")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "no-such-image-here" in result.stderr
