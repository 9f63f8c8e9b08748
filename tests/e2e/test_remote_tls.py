"""Reaching the engine over tcp with mutual TLS, as dockerd takes it (--tlsverify --tlscacert --tlscert
--tlskey): the docker CLI, docker-py and composer connect with DOCKER_HOST=tcp://..., DOCKER_TLS_VERIFY=1,
DOCKER_CERT_PATH; a client with a certificate from another CA, or none, or plain HTTP, is refused.
Everything binds to 127.0.0.1; the CA and certificates are made here with openssl."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker as docker_sdk
import pytest
import requests

from tests.e2e.helpers import DOCKER
from tests.support.certs import Issued, issue, make_ca
from tests.support.engine import EngineProcess, new_engine, running_engine

pytestmark = [pytest.mark.root, pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Remote:
    engine: EngineProcess
    port: int
    client: Issued
    rogue: Issued  # a client certificate from another CA

    def env(self, certs: Issued | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env.update({
            "DOCKER_HOST": f"tcp://127.0.0.1:{self.port}",
            "DOCKER_TLS_VERIFY": "1",
            "DOCKER_CERT_PATH": str((certs or self.client).dir),
            "DOCKER_CONFIG": str(self.engine.base / "docker-config"),
            "DOCKER_CLI_HINTS": "false",
        })  # fmt: skip
        return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Remote]:
    tmp = tmp_path_factory.mktemp("tls")
    ca = make_ca(tmp / "ca")
    server = issue(ca, tmp / "server", "engine", server_ips=("127.0.0.1",))
    client = issue(ca, tmp / "client", "client")
    rogue = issue(make_ca(tmp / "rogue-ca", "rogue CA"), tmp / "rogue", "mallory")
    port = _free_port()
    args = (
        "-H", f"tcp://127.0.0.1:{port}", "--tlsverify",
        "--tlscacert", str(ca.cert), "--tlscert", str(server.cert), "--tlskey", str(server.key),
    )  # fmt: skip
    with running_engine(extra_args=args) as eng:
        yield Remote(eng, port, client, rogue)


def _docker(remote: Remote, *args: str, certs: Issued | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOCKER, *args], env=remote.env(certs), capture_output=True, text=True, timeout=60)


def test_docker_cli_over_mutual_tls(remote: Remote) -> None:
    r = _docker(remote, "version", "--format", "{{.Server.APIVersion}}")
    assert r.returncode == 0 and r.stdout.strip(), r.stderr
    r = _docker(remote, "run", "--rm", "--network", "none", "busybox", "echo", "over tls")
    assert (r.returncode, r.stdout) == (0, "over tls\n"), r.stderr
    r = _docker(remote, "run", "-d", "--name", "tls-top", "--network", "none", "busybox", "sleep", "30")
    assert r.returncode == 0, r.stderr
    try:
        r = _docker(remote, "exec", "tls-top", "sh", "-c", "echo from exec")
        assert (r.returncode, r.stdout) == (0, "from exec\n"), r.stderr
    finally:
        _docker(remote, "rm", "-f", "tls-top")


def test_docker_py_from_env(remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    # requests lets these replace DOCKER_CERT_PATH's CA (this machine sets them); composer pins its CA
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    client = docker_sdk.from_env(environment=remote.env())
    try:
        assert client.ping()
        out = client.containers.run("busybox", ["echo", "py over tls"], remove=True, network_mode="none")
        assert out == b"py over tls\n"
    finally:
        client.close()


def test_composer_over_tls(remote: Remote, tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: busybox\n    command: sleep 30\n    network_mode: none\n"
    )
    env = remote.env()

    def composer(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "composer.cli.main", "-p", "tlsproj", *args],
            cwd=tmp_path, env={**env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    try:
        r = composer("up", "-d")
        assert r.returncode == 0, r.stderr
        r = composer("ps", "--format", "json")
        assert r.returncode == 0 and '"running"' in r.stdout.lower(), (r.stdout, r.stderr)
    finally:
        r = composer("down", "-t", "0")
    assert r.returncode == 0, r.stderr
    names = remote.engine.json("GET", "/containers/json?all=1")
    assert not [c for c in names if c["Labels"].get("com.docker.compose.project") == "tlsproj"]


def test_a_certificate_from_another_ca_is_refused(remote: Remote, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(
        "REQUESTS_CA_BUNDLE", raising=False
    )  # the client trusts the server: the server refuses
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    r = _docker(remote, "version", "--format", "{{.Server.APIVersion}}", certs=remote.rogue)
    assert r.returncode != 0 and not r.stdout.strip()
    assert "certificate" in r.stderr.lower() or "tls" in r.stderr.lower(), r.stderr
    client = docker_sdk.DockerClient(
        base_url=f"https://127.0.0.1:{remote.port}",
        tls=docker_sdk.tls.TLSConfig(
            client_cert=(str(remote.rogue.cert), str(remote.rogue.key)),
            ca_cert=str(remote.client.ca_pem),
            verify=True,
        ),
        version="1.41",
    )
    with pytest.raises(requests.exceptions.ConnectionError) as refused:  # SSLError: the server's alert
        client.ping()
    assert "certificate" in str(refused.value).lower() or "alert" in str(refused.value).lower()
    client.close()


def test_no_certificate_or_plain_http_is_refused(remote: Remote) -> None:
    ctx = ssl.create_default_context(cafile=str(remote.client.ca_pem))
    # TLS 1.3: the client's handshake ends before the server has checked its (missing) certificate; the
    # server's alert arrives on the first read
    with (
        socket.create_connection(("127.0.0.1", remote.port), timeout=30) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        pytest.raises((ssl.SSLError, ConnectionError)),
    ):
        tls.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        if not tls.recv(100):
            raise ConnectionError("closed without an answer")
    with socket.create_connection(("127.0.0.1", remote.port), timeout=30) as raw:
        raw.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            answer = raw.recv(100)
        except ConnectionError:
            answer = b""
        assert b"200 OK" not in answer and b"OK" not in answer
    assert "Traceback" not in remote.engine.log()


def test_an_activated_tcp_socket_gets_tls_too(
    remote: Remote, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A tcp socket systemd passes (-H fd://) is served with the same TLS as the engine's own listeners."""
    certs = tmp_path_factory.mktemp("tls-activated")
    ca = make_ca(certs / "ca")
    server = issue(ca, certs / "server", "engine", server_ips=("127.0.0.1",))
    client = issue(ca, certs / "client", "client")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    eng = new_engine()
    flags = f"--tlsverify --tlscacert {ca.cert} --tlscert {server.cert} --tlskey {server.key}"
    script = (
        f"LISTEN_PID=$$ LISTEN_FDS=1 exec {sys.executable} -m engine.daemon -H fd://"
        f" --data-root {eng.data_root} --exec-root {eng.exec_root} {flags} 3<&{listener.fileno()}"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LISTEN_", "NOTIFY_"))}
    with open(eng.log_path, "ab") as log:
        proc = subprocess.Popen(
            ["bash", "-c", script], pass_fds=(listener.fileno(),), stdout=log, stderr=log, env=env, cwd=REPO
        )
    listener.close()
    eng.proc = proc  # cleanup() stops it
    try:
        activated = Remote(eng, port, client, remote.rogue)
        r = _docker(activated, "version", "--format", "{{.Server.APIVersion}}")
        assert r.returncode == 0 and r.stdout.strip(), r.stderr + eng.log()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
            raw.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
            with contextlib.suppress(ConnectionError):
                assert b"OK" not in raw.recv(100)
    finally:
        eng.cleanup()
