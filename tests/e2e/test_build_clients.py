"""Builds through the clients people use: docker-py's `images.build`, the reference Docker Compose v2
(`docker-compose build`, classic builder) and `composer up --build`, all against our engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import docker
import pytest

from tests.e2e.helpers import DockerCLI
from tests.support.reference import reference_binary

pytestmark = [pytest.mark.e2e, pytest.mark.root]

DOCKERFILE = """\
FROM busybox AS base
ARG MSG=default
RUN echo "$MSG" > /msg
FROM base AS final
LABEL from=dockerfile
CMD ["cat", "/msg"]
"""


def _context(tmp_path: Path) -> Path:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    return ctx


def test_docker_py_build(docker_client: docker.DockerClient, tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    image, logs = docker_client.images.build(
        path=str(ctx), tag="e2e/pybuild:1", buildargs={"MSG": "from py"}, labels={"by": "docker-py"}, rm=True
    )
    lines = "".join(chunk.get("stream", "") for chunk in logs)
    assert "Step 1/6 : FROM busybox AS base" in lines
    assert image.labels == {"from": "dockerfile", "by": "docker-py"}
    assert docker_client.containers.run("e2e/pybuild:1", remove=True) == b"from py\n"
    again, _ = docker_client.images.build(
        path=str(ctx), tag="e2e/pybuild:1", buildargs={"MSG": "from py"}, labels={"by": "docker-py"}, rm=True
    )
    assert again.id == image.id  # a cached rebuild, --label step included, gives the same image
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN exit 7\n")
    # the low-level stream (read to its end: docker-py's high-level error leaves the response open)
    messages = list(docker_client.api.build(path=str(ctx), tag="e2e/pybuild:bad", decode=True))
    errors = [m for m in messages if "errorDetail" in m]
    assert errors and errors[-1]["errorDetail"]["code"] == 7
    assert "returned a non-zero code: 7" in errors[-1]["error"]


@pytest.mark.reference
def test_compose_v2_build(docker: DockerCLI, tmp_path: Path) -> None:
    binary = reference_binary()
    assert binary, "the reference docker-compose binary is installed here"
    ctx = _context(tmp_path)
    (ctx / "compose.yaml").write_text(
        "services:\n  app:\n    build:\n      context: .\n      target: base\n"
        "      args:\n        MSG: composed\n    image: e2e/composed:1\n"
    )
    res = subprocess.run(
        [binary, "-p", "e2ebuild", "build"],
        cwd=ctx,
        env=dict(docker.env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert docker("run", "--rm", "e2e/composed:1", "cat", "/msg").out == "composed\n"
    labels = docker("image", "inspect", "-f", "{{json .Config.Labels}}", "e2e/composed:1").out
    assert (
        '"com.docker.compose.image.builder":"classic"' in labels
    )  # compose's build labels reached the image


def test_composer_up_build(docker: DockerCLI, tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    (ctx / "compose.yaml").write_text(
        "services:\n  app:\n    build:\n      context: .\n      args:\n        MSG: by composer\n"
        '    image: e2e/composer-built:1\n    command: ["sh", "-c", "cat /msg; sleep 60"]\n'
    )
    cmd = [sys.executable, "-c", "import sys; from composer.cli.main import main; sys.exit(main())"]
    env = dict(docker.env)
    try:
        up = subprocess.run(
            [*cmd, "-p", "e2ebuilt", "up", "-d", "--build"],
            cwd=ctx,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert up.returncode == 0, up.stderr
        assert docker("run", "--rm", "e2e/composer-built:1", "cat", "/msg").out == "by composer\n"
    finally:
        subprocess.run([*cmd, "-p", "e2ebuilt", "down"], cwd=ctx, env=env, capture_output=True, timeout=120)
