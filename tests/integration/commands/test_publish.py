"""`publish`: the project pushed as an OCI artifact to a local registry (Debian's docker-registry over
TLS, its CA given as SSL_CERT_FILE to both tools), compared with what the reference Compose v2 binary
pushes, and read back by the reference (`-f oci://...`)."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.commands.conftest import REFERENCE, Project, _env
from tests.support.registry import Registry, make_tls, running_registry

COMPOSE = """\
name: demo
services:
  web:
    image: busybox:latest
    command: sleep 3600
    env_file:
      - web.env
  extra:
    image: busybox:latest
    profiles: [later]
"""


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    work = tmp_path_factory.mktemp("registry")
    with running_registry(work, tls=make_tls(work / "tls")) as reg:
        yield reg


def _manifest(reg: Registry, repo: str, tag: str) -> dict[str, Any]:
    assert reg.tls is not None
    context = ssl.create_default_context(cafile=str(reg.tls.ca_cert))
    request = urllib.request.Request(
        f"https://{reg.url.split('://')[-1]}/v2/{repo}/manifests/{tag}",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    with urllib.request.urlopen(request, context=context, timeout=30) as reply:
        return json.loads(reply.read())  # type: ignore[no-any-return]


@dataclass
class Tools:
    """composer and the reference on the project, trusting the registry's CA (SSL_CERT_FILE)."""

    project: Project
    ca: str

    def _run(self, argv: list[str], args: tuple[str, ...], stdin: bytes | None) -> Any:
        env = {**_env(), "DOCKER_HOST": self.project.engine.docker_host, "SSL_CERT_FILE": self.ca}
        env["DOCKER_CONFIG"] = str(self.project.path / ".docker")
        return subprocess.run(
            [*argv, *args],
            cwd=self.project.path,
            env=env,
            input=stdin.decode() if stdin is not None else None,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def composer(self, *args: str, input: bytes | None = None) -> Any:
        return self._run([sys.executable, "-m", "composer.cli.main"], args, input)

    def reference(self, *args: str) -> Any:
        return self._run([REFERENCE], args, None)


def _tools(project: Project, reg: Registry, ca: str | None = None) -> tuple[Tools, str]:
    assert reg.tls is not None
    (project.path / "compose.yaml").write_text(COMPOSE)
    (project.path / "web.env").write_text("A=1\n")
    return Tools(project, ca or str(reg.tls.ca_cert)), reg.url.split("://")[-1]


def test_publish_pushes_what_the_reference_pushes(project: Project, registry: Registry) -> None:
    tools, host = _tools(project, registry)
    for version in ("1.1", "1.0"):
        ours = tools.composer(
            "publish", "--with-env", "-y", "--oci-version", version, f"{host}/ours:{version}"
        )
        assert ours.returncode == 0, ours.stderr
        assert ours.stderr.splitlines()[-1] == f" {host}/ours:{version} published "
        ref = tools.reference(
            "publish", "--with-env", "-y", "--oci-version", version, f"{host}/ref:{version}"
        )
        assert ref.returncode == 0, ref.stderr
        mine, theirs = _manifest(registry, "ours", version), _manifest(registry, "ref", version)
        for manifest in (mine, theirs):
            manifest.pop("annotations")  # the creation time
        assert mine == theirs
    assert mine["config"]["mediaType"] == "application/vnd.docker.compose.config.empty.v1+json"
    assert _manifest(registry, "ours", "1.1")["artifactType"] == "application/vnd.docker.compose.project"
    # and the reference runs the project from our artifact
    read_back = tools.reference("-f", f"oci://{host}/ours:1.1", "config", "--format", "json")
    assert read_back.returncode == 0, read_back.stderr
    assert json.loads(read_back.stdout)["services"]["web"]["environment"] == {"A": "1"}


def test_publish_refuses_what_the_reference_refuses(project: Project, registry: Registry) -> None:
    tools, host = _tools(project, registry)
    ours = tools.composer("publish", f"{host}/x:1")
    ref = tools.reference("publish", f"{host}/x:1")
    assert ours.returncode == ref.returncode == 1
    # the same sentences (ours on one line, as every composer error)
    assert ours.stderr.split() == ref.stderr.split()
    # without -y the environment is shown and nothing is pushed unless the answer is yes
    asked = tools.composer("publish", "--with-env", f"{host}/x:2", input=b"n\n")
    assert asked.returncode == 0 and "Are you ok to publish these environment variables?" in asked.stdout
    assert "A=1" in asked.stdout and "published" not in asked.stderr
    (project.path / "compose.yaml").write_text("services:\n  app:\n    build: .\n")
    only_build = tools.composer("publish", f"{host}/x:3")
    assert only_build.returncode == 1
    assert "cannot be published as it only contains a build section" in only_build.stderr
    bad = tools.composer("publish", "Not/Valid:ref")
    assert (bad.returncode, bad.stderr) == (1, "invalid reference format\n")


def test_publish_to_an_untrusted_registry_fails_in_one_line(project: Project, registry: Registry) -> None:
    tools, host = _tools(project, registry, ca="/etc/ssl/certs/ca-certificates.crt")
    done = tools.composer("publish", "--with-env", "-y", f"{host}/x:4")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "failed to do request" in done.stderr
