"""`publish`: the project pushed as an OCI artifact to a local registry (Debian's docker-registry over
TLS, its CA given as SSL_CERT_FILE to both tools), compared with what the reference Compose v2 binary
pushes, and read back by the reference (`-f oci://...`)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.commands.conftest import REFERENCE, Project, _env
from tests.support.dockerd import DOCKER
from tests.support.engine import EngineProcess, running_engine
from tests.support.registry import Registry, make_tls, running_registry, token_server

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

    def reference(self, *args: str, input: bytes | None = None) -> Any:
        return self._run([REFERENCE], args, input)


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


SENSITIVE = """\
services:
  app:
    image: busybox:latest
    labels:
      aws: AKIAIOSFODNN7EXAMPLE
      gh: ghp_abcdefghijklmnopqrstuvwxyz0123456789
      password: not-a-known-shape
      key: "-----BEGIN RSA PRIVATE KEY-----\\nMIIEpAIBAAKCAQEA\\n-----END RSA PRIVATE KEY-----"
"""


def test_publish_asks_about_sensitive_data_as_the_reference(project: Project, registry: Registry) -> None:
    tools, host = _tools(project, registry)
    (project.path / "compose.yaml").write_text(SENSITIVE)
    ours = tools.composer("publish", f"{host}/s:1", input=b"n\n")
    ref = tools.reference("publish", f"{host}/s:1", input=b"n\n")
    assert (ours.returncode, ours.stdout) == (ref.returncode, ref.stdout)
    assert "AWS Client ID\n" in ours.stdout and "Private Key\n" in ours.stdout
    assert "published" not in ours.stderr


def test_publish_to_an_untrusted_registry_fails_in_one_line(project: Project, registry: Registry) -> None:
    tools, host = _tools(project, registry, ca="/etc/ssl/certs/ca-certificates.crt")
    done = tools.composer("publish", "--with-env", "-y", f"{host}/x:4")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "failed to do request" in done.stderr


@pytest.fixture(scope="module")
def app_engine(registry: Registry) -> Iterator[EngineProcess]:
    """An engine that resolves image digests on the test registry (its CA is unknown to the engine, so
    the registry is named insecure: TLS without verification), with busybox pushed there by skopeo."""
    assert registry.tls is not None
    host = registry.url.split("://")[-1]
    with running_engine(extra_args=("--insecure-registry", host)) as eng:
        archive = registry.root.parent / "busybox.tar"
        saved = subprocess.run(
            [DOCKER, "save", "-o", str(archive), "busybox:latest"],
            env={"DOCKER_HOST": eng.docker_host, "PATH": os.environ.get("PATH", "")},
            capture_output=True,
            timeout=60,
        )
        assert saved.returncode == 0, saved.stderr
        cadir = registry.root.parent / "ca-only"
        cadir.mkdir(exist_ok=True)
        shutil.copy(registry.tls.ca_cert, cadir / "ca.crt")
        pushed = subprocess.run(
            [
                "skopeo",
                "copy",
                "--dest-cert-dir",
                str(cadir),
                f"docker-archive:{archive}",
                f"docker://{host}/bb:1",
            ],
            capture_output=True,
            timeout=120,
        )
        assert pushed.returncode == 0, pushed.stderr
        yield eng


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed")
def test_publish_app_copies_the_images_as_the_reference_does(
    app_engine: EngineProcess, registry: Registry, tmp_path: Path
) -> None:
    assert registry.tls is not None
    host = registry.url.split("://")[-1]
    (tmp_path / "compose.yaml").write_text(
        f"services:\n  app:\n    image: {host}/bb:1\n    command: sleep 300\n"
    )
    env = {**_env(), "DOCKER_HOST": app_engine.docker_host, "SSL_CERT_FILE": str(registry.tls.ca_cert)}
    env["DOCKER_CONFIG"] = str(tmp_path)
    results = {}
    for name, argv in (("app-ours", [sys.executable, "-m", "composer.cli.main"]), ("app-ref", [REFERENCE])):
        done = subprocess.run(
            [*argv, "publish", "--app", "-y", f"{host}/{name}:v1"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        results[name] = _pushed(registry, name)
    ours, theirs = results["app-ours"], results["app-ref"]
    # the same image manifest copied, the same layers (image-digests.yaml included), the same index
    assert ours["image"] == theirs["image"]
    assert ours["layers"] == theirs["layers"]
    assert [m["digest"] for m in ours["index"]["manifests"]] == [
        m["digest"] for m in theirs["index"]["manifests"]
    ]
    for found in (ours, theirs):
        found["index"]["subject"].pop("digest")
        found["index"]["subject"].pop("size")
    assert ours["index"] == theirs["index"]


def _pushed(registry: Registry, repo: str) -> dict[str, Any]:
    """The repository's manifests by kind (read from the registry's storage, the index has no tag)."""
    revisions = registry.root / "docker/registry/v2/repositories" / repo / "_manifests/revisions/sha256"
    found: dict[str, Any] = {}
    for digest in sorted(p.name for p in revisions.iterdir()):
        blob = registry.root / "docker/registry/v2/blobs/sha256" / digest[:2] / digest / "data"
        data = json.loads(blob.read_bytes())
        if data.get("mediaType") == "application/vnd.oci.image.index.v1+json":
            found["index"] = data
        elif data.get("artifactType") == "application/vnd.docker.compose.project":
            found["layers"] = data["layers"]
        else:
            found["image"] = data
    return found


def _docker_config(directory: Path, host: str, user: str, password: str) -> None:
    import base64

    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (directory / ".docker").mkdir(exist_ok=True)
    (directory / ".docker" / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))


@pytest.mark.parametrize("scheme", ["basic", "bearer"])
def test_publish_logs_in_with_the_docker_cli_credentials(
    project: Project, tmp_path: Path, scheme: str
) -> None:
    tls = make_tls(tmp_path / "tls")
    users = {"alice": "wonderland"}
    with contextlib.ExitStack() as stack:
        if scheme == "basic":
            reg = stack.enter_context(running_registry(tmp_path / "reg", tls=tls, users=users))
            tokens = None
        else:
            tokens = stack.enter_context(token_server(tmp_path / "token", users))
            reg = stack.enter_context(
                running_registry(tmp_path / "reg", tls=tls, token=tokens.registry_config())
            )
        tools, host = _tools(project, reg)
        anonymous = tools.composer("publish", "--with-env", "-y", f"{host}/team/app:1")
        assert (
            anonymous.returncode == 1
            and "401" in anonymous.stderr + anonymous.stdout
            or ("authentication required" in anonymous.stderr)
        ), anonymous.stderr
        _docker_config(project.path, host, "alice", "wonderland")
        logged_in = tools.composer("publish", "--with-env", "-y", f"{host}/team/app:1")
        assert logged_in.returncode == 0, logged_in.stderr
        if tokens is not None:
            granted = [r for r in tokens.requests if r.get("user") == "alice"]
            assert granted and "repository:team/app:pull,push" in granted[-1]["scope"]
