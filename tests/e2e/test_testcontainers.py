"""testcontainers-python against our engine, and a container that drives the engine through its socket."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.helpers import DOCKER, DockerCLI

pytestmark = [pytest.mark.e2e, pytest.mark.root]


def test_testcontainers_start_logs_copy(
    engine_socket: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key in [k for k in os.environ if k.startswith("DOCKER_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{engine_socket}")
    monkeypatch.setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    payload = tmp_path / "payload.txt"
    payload.write_text("copied in by testcontainers\n")
    container = (
        DockerContainer("busybox:latest")
        .with_command(["sh", "-c", "echo container-ready; exec sleep 300"])
        .waiting_for(LogMessageWaitStrategy("container-ready").with_startup_timeout(20))
    )
    container.start()  # returns once the log line is there
    try:
        stdout, stderr = container.get_logs()
        assert stdout == b"container-ready\n" and stderr == b""
        container.copy_into_container(payload, "/tmp/payload.txt")
        result = container.exec(["cat", "/tmp/payload.txt"])
        assert (result.exit_code, result.output) == (0, b"copied in by testcontainers\n")
    finally:
        container.stop()


def test_container_talks_to_engine_through_socket(docker: DockerCLI, engine_socket: Path) -> None:
    res = docker(
        "run",
        "--rm",
        "-v",
        f"{engine_socket}:/var/run/docker.sock",
        "-v",
        f"{DOCKER}:/usr/bin/docker:ro",
        "-e",
        "DOCKER_CONFIG=/tmp",
        "busybox",
        "sh",
        "-c",
        "test -f /.dockerenv && echo dockerenv; docker version --format '{{.Server.Os}}'; "
        "docker images --format '{{.Repository}}:{{.Tag}}' busybox",
    )
    assert res.out.splitlines() == ["dockerenv", "linux", "busybox:latest"], res
