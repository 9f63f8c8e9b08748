"""`composer build`, `push` and `pull` through the engine's build and registry routes, with a real
docker-registry on 127.0.0.1; results are checked with docker-py and the registry's own HTTP API."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.commands.conftest import Project
from tests.support.reference import reference_binary
from tests.support.registry import Registry, running_registry

pytestmark = pytest.mark.root


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with running_registry(tmp_path / "registry") as reg:
        yield reg


def _write_project(project: Project, image: str) -> None:
    (project.path / "app").mkdir()
    (project.path / "app" / "Dockerfile").write_text(
        textwrap.dedent(
            """\
            FROM busybox:latest
            ARG FLAVOUR=plain
            COPY greeting.txt /greeting.txt
            RUN echo "$FLAVOUR" > /flavour
            """
        )
    )
    (project.path / "app" / "greeting.txt").write_text("hello from the build\n")
    (project.path / "compose.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: demo
            services:
              app:
                build:
                  context: ./app
                  args: {{FLAVOUR: file}}
                image: {image}
              plain:
                image: busybox:latest
            """
        )
    )


def _read(project: Project, image: str, path: str) -> str:
    cid = project.api.create_container(image, ["cat", path])["Id"]
    try:
        project.api.start(cid)
        project.api.wait(cid, timeout=30)
        return bytes(project.api.logs(cid)).decode()
    finally:
        project.api.remove_container(cid, force=True)


def test_build_push_and_pull_round_trip(project: Project, registry: Registry) -> None:
    image = f"{registry.host}/demo/app:1"
    _write_project(project, image)
    built = project.composer("build", "--build-arg", "FLAVOUR=cli", "app")
    assert built.returncode == 0, built.stderr
    assert _read(project, image, "/greeting.txt") == "hello from the build\n"
    assert _read(project, image, "/flavour") == "cli\n"  # --build-arg wins over the file's args
    image_id = project.api.inspect_image(image)["Id"]

    pushed = project.composer("push")
    assert pushed.returncode == 0, pushed.stderr
    with urllib.request.urlopen(f"http://{registry.host}/v2/demo/app/tags/list", timeout=10) as resp:
        assert json.load(resp)["tags"] == ["1"]

    project.api.remove_image(image, force=True)
    pulled = project.composer("pull", "app")
    assert pulled.returncode == 0, pulled.stderr
    assert project.api.inspect_image(image)["Id"] == image_id


def test_a_failing_build_is_one_line_naming_the_service(project: Project) -> None:
    _write_project(project, "demo-app:broken")
    (project.path / "app" / "Dockerfile").write_text("FROM busybox:latest\nRUN exit 9\n")
    result = project.composer("build", "-q")
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("service app: building demo-app:broken: "), line


def test_pull_of_a_missing_image_fails_naming_the_service(project: Project, registry: Registry) -> None:
    _write_project(project, "unused")
    (project.path / "compose.yaml").write_text(
        f"name: demo\nservices:\n  gone:\n    image: {registry.host}/nothing/here:1\n"
    )
    result = project.composer("pull")
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith(f"service gone: pulling {registry.host}/nothing/here:1")


def test_pull_policy_missing_and_ignored_failures(project: Project, registry: Registry) -> None:
    project.api.tag("busybox:latest", "demo-local", "1")
    (project.path / "compose.yaml").write_text(
        "name: demo\n"
        "services:\n"
        "  local:\n"
        "    image: demo-local:1\n"  # present: --policy missing must not reach any registry for it
        "  gone:\n"
        f"    image: {registry.host}/nothing/here:1\n"
    )
    # (a `latest` tag would be pulled again whatever the policy, as `docker compose pull` does)
    result = project.composer("pull", "--policy", "missing", "--ignore-pull-failures")
    assert result.returncode == 0, result.stderr
    assert "demo-local" not in result.stderr
    warning = [ln for ln in result.stderr.splitlines() if ln.startswith("WARNING:")]
    assert len(warning) == 1 and "service gone: pulling" in warning[0]


def test_up_pulls_an_image_named_by_digest(project: Project, registry: Registry) -> None:
    """`image: repo@sha256:...` is pulled by its digest (it was once split as `repo@sha256` + tag)."""
    pushed_ref = f"{registry.host}/demo/bb:1"
    project.api.tag("busybox:latest", f"{registry.host}/demo/bb", tag="1")
    for item in project.api.push(f"{registry.host}/demo/bb", tag="1", stream=True, decode=True):
        assert "error" not in item, item
    request = urllib.request.Request(
        f"http://{registry.host}/v2/demo/bb/manifests/1",
        method="HEAD",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        digest = resp.headers["Docker-Content-Digest"]
    project.api.remove_image(pushed_ref, force=True)
    by_digest = f"{registry.host}/demo/bb@{digest}"
    (project.path / "compose.yaml").write_text(
        f"name: demo\nservices:\n  bb:\n    image: {by_digest}\n    command: sleep 60\n    init: true\n"
    )
    up = project.composer("up", "-d")
    assert up.returncode == 0, up.stderr
    assert project.api.inspect_image(by_digest)["Id"] == project.api.inspect_image("busybox:latest")["Id"]
    project.composer("down", "-t", "0", check=True)


def _tags(registry: Registry, repo: str) -> list[str]:
    with urllib.request.urlopen(f"http://{registry.host}/v2/{repo}/tags/list", timeout=10) as resp:
        return sorted(json.load(resp)["tags"])


def _catalog(registry: Registry) -> list[str]:
    with urllib.request.urlopen(f"http://{registry.host}/v2/_catalog", timeout=10) as resp:
        return sorted(json.load(resp)["repositories"])


@pytest.mark.skipif(reference_binary() is None, reason="the reference docker compose binary is not installed")
def test_build_push_as_compose(project: Project, registry: Registry) -> None:
    """`build --push` (Compose v2's flag): builds, then pushes the built services' `image:`s; a built service
    without `image:` and an image-only service are not pushed. The reference Compose, run the same way on the
    same engine (classic builder), pushes the same."""
    _write_project(project, f"{registry.host}/demo/app:1")
    compose = project.path / "compose.yaml"
    compose.write_text(compose.read_text() + "  local:\n    build: ./app\n")
    ours = project.composer("build", "--push", "-q")
    assert ours.returncode == 0, ours.stderr
    assert _catalog(registry) == ["demo/app"] and _tags(registry, "demo/app") == ["1"]
    compose.write_text(compose.read_text().replace("/demo/app:1", "/demo/app:2"))
    # the classic builder, as ours (Compose's Bake needs buildx and docker.io); one service: Compose 2.40.3
    # pushes after each service's build, so a second built service may be pushed before it is built
    theirs = subprocess.run(
        [str(reference_binary()), "build", "--push", "app"], cwd=project.path, capture_output=True, text=True,
        timeout=180, env={"PATH": os.environ["PATH"], "HOME": str(project.path), "DOCKER_BUILDKIT": "0",
                          "DOCKER_HOST": project.engine.docker_host},
    )
    assert theirs.returncode == 0, theirs.stderr
    assert _catalog(registry) == ["demo/app"] and _tags(registry, "demo/app") == ["1", "2"]
    compose.write_text(compose.read_text().replace("/demo/app:2", "/demo/app:3"))
    assert project.composer("build", "--push", "-q", "plain").returncode == 0  # nothing built: no push
    assert _tags(registry, "demo/app") == ["1", "2"]
