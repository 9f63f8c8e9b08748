"""The real docker CLI does login, push and pull through our engine against Debian's docker-registry; a
registry that corrupts or drops a blob leaves the store unchanged with a clear error, a retry completes."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import DockerCLI, client_env
from tests.integration.registry.proxy import Faults, fault_proxy
from tests.support.engine import EngineProcess, running_engine
from tests.support.registry import Registry, make_tls, running_registry

pytestmark = [pytest.mark.e2e, pytest.mark.root]


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with running_registry(tmp_path_factory.mktemp("reg-auth"), users={"alice": "s3cret"}) as reg:
        yield reg


@pytest.fixture(scope="module")
def plain_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with running_registry(tmp_path_factory.mktemp("reg-plain")) as reg:
        yield reg


@pytest.fixture
def clean_engine(tmp_path: Path) -> Iterator[tuple[EngineProcess, DockerCLI]]:
    with running_engine(busybox_image=False) as eng:
        yield eng, DockerCLI(client_env(eng.socket_path, tmp_path / "clean-config"))


def _layers(ref: str) -> list[str]:
    """The layer digests of the manifest the registry holds (read by skopeo, not by us)."""
    raw = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [layer["digest"] for layer in json.loads(raw)["layers"]]


def _build(docker: DockerCLI, tmp_path: Path, ref: str, text: str = "layer") -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir(exist_ok=True)
    (ctx / "Dockerfile").write_text(f'FROM busybox\nRUN echo {text} > /f.txt\nCMD ["cat", "/f.txt"]\n')
    docker("build", "-q", "-t", ref, str(ctx), timeout=120)


def test_login_push_pull_with_basic_auth(
    docker: DockerCLI, auth_registry: Registry, clean_engine: tuple[EngineProcess, DockerCLI], tmp_path: Path
) -> None:
    ref = f"{auth_registry.host}/e2e/private:v1"
    _build(docker, tmp_path, ref, "private")
    denied = docker("push", ref, check=False, timeout=120)
    assert denied.rc != 0 and "no basic auth credentials" in denied.err
    bad = docker("login", "-u", "alice", "--password-stdin", auth_registry.host, input="wrong", check=False)
    assert bad.rc != 0 and "incorrect username or password" in bad.err
    ok = docker("login", "-u", "alice", "--password-stdin", auth_registry.host, input="s3cret")
    assert "Login Succeeded" in ok.out
    try:
        docker("push", ref, timeout=120)
    finally:
        docker("logout", auth_registry.host, check=False)
    eng, cli = clean_engine
    refused = cli("pull", ref, check=False, timeout=120)
    assert refused.rc != 0 and "no basic auth credentials" in refused.err
    cli("login", "-u", "alice", "--password-stdin", auth_registry.host, input="s3cret")
    cli("pull", ref, timeout=120)
    assert cli("run", "--rm", ref).out == "private\n"
    digest = json.loads(cli("image", "inspect", ref).out)[0]["RepoDigests"][0]
    assert digest.startswith(f"{auth_registry.host}/e2e/private@sha256:")


def test_corrupt_blob_leaves_store_unchanged_then_retry(
    docker: DockerCLI, plain_registry: Registry, clean_engine: tuple[EngineProcess, DockerCLI], tmp_path: Path
) -> None:
    ref = f"{plain_registry.host}/e2e/faulty:v1"
    _build(docker, tmp_path, ref, "faulty")
    docker("push", ref, timeout=120)
    layers = _layers(ref)
    eng, cli = clean_engine
    faults = Faults(corrupt=set(layers))
    with fault_proxy(plain_registry.host, faults) as proxy:
        proxied = f"{proxy}/e2e/faulty:v1"
        res = cli("pull", proxied, check=False, timeout=120)
        assert res.rc != 0 and "digest" in res.err.lower(), res
        assert cli("images", "-q").out == ""
        layers_dir = eng.data_root / "images" / "layers"
        assert not layers_dir.exists() or not any(layers_dir.iterdir())
        faults.corrupt.clear()
        cli("pull", proxied, timeout=120)
        assert cli("run", "--rm", proxied).out == "faulty\n"


def test_dropped_connection_resumes(
    docker: DockerCLI, plain_registry: Registry, clean_engine: tuple[EngineProcess, DockerCLI], tmp_path: Path
) -> None:
    ref = f"{plain_registry.host}/e2e/dropped:v1"
    _build(docker, tmp_path, ref, "dropped")
    docker("push", ref, timeout=120)
    layers = _layers(ref)
    eng, cli = clean_engine
    faults = Faults(drop=set(layers))
    with fault_proxy(plain_registry.host, faults) as proxy:
        cli("pull", f"{proxy}/e2e/dropped:v1", timeout=120)
        assert cli("run", "--rm", f"{proxy}/e2e/dropped:v1").out == "dropped\n"
    assert faults.dropped, "the proxy cut a download"
    assert any(rng.startswith("bytes=") and not rng.startswith("bytes=0-") for _, _, rng in faults.seen), (
        faults.seen
    )


@pytest.fixture
def tls_registry(tmp_path: Path) -> Iterator[Registry]:
    """htpasswd Basic auth + TLS from a CA the test makes."""
    with running_registry(tmp_path / "reg-tls", tls=make_tls(tmp_path / "tls"), users={"bob": "pw"}) as reg:
        yield reg


def test_tls_registry_with_basic_auth(docker: DockerCLI, tls_registry: Registry, tmp_path: Path) -> None:
    # Loopback registries are insecure for Docker (the address, or what a name resolves to, is in
    # 127.0.0.0/8): HTTPS is spoken without verifying the chain, as dockerd does; the CA path itself is
    # covered by tests/integration/registry/test_registry_auth_tls.py with a certs.d directory.
    host = tls_registry.host
    ref = f"{host}/e2e/tls:v1"
    _build(docker, tmp_path, ref, "tls")
    bad = docker("login", "-u", "bob", "--password-stdin", host, input="nope", check=False)
    assert bad.rc != 0 and "incorrect username or password" in bad.err
    docker("login", "-u", "bob", "--password-stdin", host, input="pw")
    try:
        docker("push", ref, timeout=120)
        docker("rmi", ref)
        docker("pull", ref, timeout=120)
        assert docker("run", "--rm", ref).out == "tls\n"
    finally:
        docker("logout", host, check=False)
    info = subprocess.run(
        ["skopeo", "inspect", "--creds", "bob:pw", "--tls-verify=false", f"docker://{ref}"],
        capture_output=True,
        text=True,
    )
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["Name"] == f"{host}/e2e/tls"
