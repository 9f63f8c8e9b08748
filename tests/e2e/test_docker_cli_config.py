"""composer lives where the docker CLI lives: its contexts, its config.json credentials (credHelpers and
credsStore, with helper programs run as the docker CLI runs them) and its `compose` plugin slot. All against
the real docker CLI 28 (/usr/local/bin/docker), a private engine, and a real registry with Basic auth; each
test has its own HOME / DOCKER_CONFIG."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import DOCKER
from tests.support.engine import EngineProcess, running_engine
from tests.support.registry import Registry, TLSFiles, make_tls, running_registry

pytestmark = [pytest.mark.e2e, pytest.mark.root]

REPO = Path(__file__).resolve().parents[2]
PROJECT = "name: ctx\nservices:\n  app: {image: busybox:latest, command: sleep 1000, init: true}\n"


@pytest.fixture(scope="module")
def engine() -> Iterator[EngineProcess]:
    with running_engine() as eng:
        yield eng


@pytest.fixture
def home(tmp_path: Path, engine: EngineProcess) -> Iterator[dict[str, str]]:
    """An environment with its own HOME (so ~/.docker is the test's), no DOCKER_* settings, composer's
    embedded engine being the private one, and this checkout's composer importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "COMPOSE_", "PYTHON"))}
    (tmp_path / "home").mkdir()
    env.update(HOME=str(tmp_path / "home"), COMPOSER_ENGINE_ROOT=str(engine.base), PYTHONPATH=str(REPO),
               DOCKER_CLI_HINTS="false")
    yield env
    engine.remove_all_containers()


def run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def composer(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "composer.cli.main", *args], env, cwd)


def docker(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run([DOCKER, *args], env, cwd)


def test_engine_context_is_used_by_the_docker_cli_and_by_composer(
    home: dict[str, str], engine: EngineProcess, tmp_path: Path
) -> None:
    (tmp_path / "compose.yaml").write_text(PROJECT)
    made = composer(home, tmp_path, "engine", "context")
    assert made.returncode == 0, made.stderr
    assert made.stdout == f'Docker context "composer" points at {engine.docker_host}\n'
    listed = docker(home, tmp_path, "context", "ls", "--format", "{{.Name}} {{.DockerEndpoint}}")
    assert f"composer {engine.docker_host}" in listed.stdout.splitlines(), listed
    assert docker(home, tmp_path, "context", "use", "composer").returncode == 0
    config = json.loads((Path(home["HOME"]) / ".docker" / "config.json").read_text())
    assert config["currentContext"] == "composer"

    # composer follows currentContext (no -H, no DOCKER_HOST); the docker CLI sees what it made
    up = composer(home, tmp_path, "up", "-d")
    assert up.returncode == 0, up.stderr
    names = docker(home, tmp_path, "ps", "--format", "{{.Names}}")
    assert names.stdout.split() == ["ctx-app-1"], names
    # DOCKER_HOST beats the current context; --context beats DOCKER_HOST; both -H and --context: refused
    nowhere = {**home, "DOCKER_HOST": f"unix://{tmp_path}/nowhere.sock"}
    assert "cannot connect to the engine at unix://" in composer(nowhere, tmp_path, "ps").stderr
    assert composer(nowhere, tmp_path, "--context", "composer", "ps", "-q").stdout.strip()
    both = composer(home, tmp_path, "-H", engine.docker_host, "--context", "composer", "ps")
    assert both.returncode == 1
    assert both.stderr == "conflicting options: cannot specify both --host and --context\n"

    # a context the docker CLI created (its own store layout) is read by composer
    created = docker(home, tmp_path, "context", "create", "other", "--docker", f"host={engine.docker_host}")
    assert created.returncode == 0, created.stderr
    assert docker(home, tmp_path, "context", "use", "default").returncode == 0
    ps = composer({**home, "DOCKER_CONTEXT": "other"}, tmp_path, "ps", "--format", "json")
    assert [json.loads(line)["Name"] for line in ps.stdout.splitlines()] == ["ctx-app-1"], ps.stderr
    missing = composer({**home, "DOCKER_CONTEXT": "nope"}, tmp_path, "ps")
    assert missing.returncode == 1
    assert missing.stderr.startswith(
        'Failed to initialize: unable to resolve docker endpoint: context "nope": context not found: open '
    )
    assert composer(home, tmp_path, "--context", "other", "down", "-t", "0").returncode == 0


def test_docker_compose_runs_composer_as_the_cli_plugin(
    home: dict[str, str], engine: EngineProcess, tmp_path: Path
) -> None:
    config_dir = tmp_path / "dockercfg"
    env = {**home, "DOCKER_CONFIG": str(config_dir)}
    (tmp_path / "compose.yaml").write_text(PROJECT)
    installed = composer(env, tmp_path, "plugin", "install")
    assert installed.returncode == 0, installed.stderr
    entry = config_dir / "cli-plugins" / "docker-compose"
    assert installed.stdout.startswith(f"Installed the docker CLI plugin at {entry}")
    metadata = json.loads(run([str(entry), "docker-cli-plugin-metadata"], env, tmp_path).stdout)
    assert metadata["SchemaVersion"] == "0.1.0" and metadata["Vendor"] == "composer"
    info = docker(env, tmp_path, "info", "--format", "{{json .ClientInfo.Plugins}}")
    plugins = {p["Name"]: p for p in json.loads(info.stdout)}
    assert plugins["compose"]["Path"] == str(entry) and plugins["compose"]["Version"] == "v0.1.0"

    # `docker compose <TAB>`: the docker CLI asks the plugin (cobra's __complete protocol)
    assert docker(env, tmp_path, "__complete", "compose", "lo").stdout == "logs\n:4\n"
    assert docker(env, tmp_path, "__complete", "compose", "up", "").stdout == "app\n:4\n"
    assert docker(env, tmp_path, "__complete", "compose", "-f", "").stdout == ":0\n"  # a file name

    # the current context leads nowhere: only the docker CLI's flags can take composer to the engine
    nowhere = f"unix://{tmp_path}/nowhere.sock"
    created = docker(env, tmp_path, "context", "create", "nowhere", "--docker", f"host={nowhere}")
    assert created.returncode == 0, created.stderr
    assert docker(env, tmp_path, "context", "use", "nowhere").returncode == 0
    lost = docker(env, tmp_path, "compose", "ps")
    assert lost.returncode == 1 and f"cannot connect to the engine at {nowhere}" in lost.stderr, lost

    # -H
    up = docker(env, tmp_path, "-H", engine.docker_host, "compose", "up", "-d")
    assert up.returncode == 0, up.stderr
    ps = docker(env, tmp_path, "-H", engine.docker_host, "compose", "ps", "--format", "json")
    assert [(json.loads(r)["Name"], json.loads(r)["State"]) for r in ps.stdout.splitlines()] == [
        ("ctx-app-1", "running")], ps
    # --context
    assert composer(env, tmp_path, "engine", "context").returncode == 0
    by_context = docker(env, tmp_path, "--context", "composer", "compose", "ps", "-q")
    assert by_context.returncode == 0 and len(by_context.stdout.split()) == 1, by_context
    # --config: another config dir whose current context is the engine (the plugin must be there too)
    other = {**home, "DOCKER_CONFIG": str(tmp_path / "othercfg")}
    assert composer(other, tmp_path, "plugin", "install").returncode == 0
    assert composer(other, tmp_path, "engine", "context", "--use").returncode == 0
    by_config = docker(env, tmp_path, "--config", str(tmp_path / "othercfg"), "compose", "ps", "-q")
    assert by_config.returncode == 0 and len(by_config.stdout.split()) == 1, by_config
    # the docker CLI's own refusal of an unknown context comes before the plugin runs
    bad = docker(env, tmp_path, "--context", "nope", "compose", "ps")
    assert bad.returncode != 0 and 'context "nope": context not found' in bad.stderr

    down = docker(env, tmp_path, "--debug", "-H", engine.docker_host, "compose", "down", "-t", "0")
    assert down.returncode == 0, down.stderr
    assert docker(env, tmp_path, "-H", engine.docker_host, "ps", "-aq").stdout == ""

    removed = composer(env, tmp_path, "plugin", "uninstall")
    assert removed.stdout == f"Removed {entry}\n" and not entry.exists()


HELPER = """#!/bin/sh
# a docker-credential-* helper: the action is argv[1], the server URL (get/erase) or JSON (store) on stdin
read -r input
echo "$1 $input" >> {log}
case "$1" in
  get) if [ "$input" = "{registry}" ]; then
         printf '{{"ServerURL":"%s","Username":"alice","Secret":"s3cret"}}' "$input"
       else echo "credentials not found in native keychain"; exit 1; fi ;;
  list) printf '{{"{registry}":"alice"}}' ;;
  *) exit 0 ;;
esac
"""


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with running_registry(tmp_path_factory.mktemp("reg-cred"), users={"alice": "s3cret"}) as reg:
        yield reg


@pytest.mark.parametrize("setting", ["credHelpers", "credsStore"])
def test_pull_and_push_use_credential_helpers(
    setting: str, home: dict[str, str], engine: EngineProcess, registry: Registry, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "helper.log"
    helper = bin_dir / "docker-credential-i17test"
    helper.write_text(HELPER.format(log=log, registry=registry.host))
    helper.chmod(0o755)
    env = {**home, "PATH": f"{bin_dir}:{home['PATH']}"}
    docker_dir = Path(home["HOME"]) / ".docker"
    docker_dir.mkdir()
    ref = f"{registry.host}/e2e/cred-{setting.lower()}:1"
    # push takes only built services: the "build" is busybox tagged as the image
    (tmp_path / "compose.yaml").write_text(f"name: cred\nservices:\n  app: {{image: {ref}, build: .}}\n")
    (tmp_path / "Dockerfile").write_text("FROM busybox:latest\n")
    tagged = engine.request("POST", f"/images/busybox:latest/tag?repo={ref.rsplit(':', 1)[0]}&tag=1")
    assert tagged.status == 201

    # no credentials: the registry refuses, and composer says so in one line
    denied = composer(env, tmp_path, "push")
    assert denied.returncode == 1 and "no basic auth credentials" in denied.stderr, denied.stderr
    value: object = {registry.host: "i17test"} if setting == "credHelpers" else "i17test"
    (docker_dir / "config.json").write_text(json.dumps({"auths": {}, setting: value}))
    pushed = composer(env, tmp_path, "push")
    assert pushed.returncode == 0, pushed.stderr
    assert f"get {registry.host}" in log.read_text().splitlines()

    assert engine.request("DELETE", f"/images/{ref}").status == 200
    pulled = composer(env, tmp_path, "pull")
    assert pulled.returncode == 0, pulled.stderr
    assert engine.request("GET", f"/images/{ref}/json").status == 200
    assert engine.request("DELETE", f"/images/{ref}").status == 200

    # a build whose base image is private: the engine pulls it with the helper's credentials
    # (X-Registry-Config, which docker-py fills from the helpers' `list` and `get`)
    based = tmp_path / "based"
    based.mkdir()
    (based / "Dockerfile").write_text(f"FROM {ref}\nRUN echo on-private-base > /b\n")
    (based / "compose.yaml").write_text("name: based\nservices:\n  app: {build: ., image: e2e/based:1}\n")
    built = composer(env, based, "build")
    assert built.returncode == 0, built.stderr
    assert engine.request("DELETE", "/images/e2e/based:1").status == 200
    assert engine.request("DELETE", f"/images/{ref}").status == 200


def test_stopping_the_docker_cli_stops_the_plugin_gracefully(
    home: dict[str, str], engine: EngineProcess, tmp_path: Path
) -> None:
    """Not on a terminal, a SIGTERM reaches only the docker CLI: it closes its plugin socket, and composer
    takes that as Ctrl-C (stops what it started) instead of running on until the CLI kills it."""
    import signal
    import time

    env = {**home, "DOCKER_CONFIG": str(tmp_path / "cfg"), "DOCKER_HOST": engine.docker_host}
    (tmp_path / "compose.yaml").write_text(PROJECT)
    assert composer(env, tmp_path, "plugin", "install").returncode == 0
    proc = subprocess.Popen([DOCKER, "compose", "up"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not engine.json("GET", "/containers/json?filters=" + '{"name":["ctx-app-1"]}'):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Gracefully stopping..." in out + err and " Container ctx-app-1  Stopped" in err
    state = engine.json("GET", "/containers/ctx-app-1/json")["State"]
    assert state["Status"] == "exited"


def _client_cert(files: TLSFiles, directory: Path) -> tuple[Path, Path]:
    """A client certificate signed by the test CA (what `docker context create ... cert=,key=` stores)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    ca_key = serialization.load_pem_private_key(files.ca_key.read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "composer test client")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    cert_path, key_path = directory / "client-cert.pem", directory / "client-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@contextlib.contextmanager
def tls_front(files: TLSFiles, backend: Path) -> Iterator[int]:
    """A TCP port on 127.0.0.1 speaking TLS (client certificate required, signed by the test CA) in front
    of the engine's unix socket: the shape of a remote engine reached through a TLS docker context."""
    import socket
    import ssl
    import threading

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(files.ca_cert))
    context.load_cert_chain(str(files.cert), str(files.key))
    context.verify_mode = ssl.CERT_REQUIRED
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    handshakes: list[str] = []

    def pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def serve(raw: socket.socket) -> None:
        try:
            conn = context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            handshakes.append(f"refused: {exc}")
            raw.close()
            return
        handshakes.append("ok")
        engine = socket.socket(socket.AF_UNIX)
        engine.connect(str(backend))
        back = threading.Thread(target=pump, args=(engine, conn), daemon=True)
        back.start()
        pump(conn, engine)
        back.join(timeout=60)
        conn.close()
        engine.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            raw.settimeout(None)
            threading.Thread(target=serve, args=(raw,), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        acceptor.join(timeout=5)
        listener.close()
        assert "ok" in handshakes, handshakes


def test_a_tls_context_made_by_the_docker_cli(home: dict[str, str], engine: EngineProcess,
                                              tmp_path: Path) -> None:
    """`docker context create --docker host=tcp://...,ca=,cert=,key=` stores the TLS material in the
    context store; composer reads it and reaches the engine through TLS with the client certificate."""
    files = make_tls(tmp_path / "tls")
    cert, key = _client_cert(files, tmp_path / "tls")
    (tmp_path / "compose.yaml").write_text(PROJECT)
    with tls_front(files, engine.socket_path) as port:
        endpoint = f"host=tcp://127.0.0.1:{port},ca={files.ca_cert},cert={cert},key={key}"
        made = docker(home, tmp_path, "context", "create", "secure", "--docker", endpoint)
        assert made.returncode == 0, made.stderr
        stored = list((Path(home["HOME"]) / ".docker" / "contexts" / "tls").glob("*/docker/*.pem"))
        assert sorted(p.name for p in stored) == ["ca.pem", "cert.pem", "key.pem"]
        assert docker(home, tmp_path, "--context", "secure", "version").returncode == 0  # the CLI agrees
        up = composer(home, tmp_path, "--context", "secure", "up", "-d")
        assert up.returncode == 0, up.stderr
        ps = composer({**home, "DOCKER_CONTEXT": "secure"}, tmp_path, "ps", "--format", "json")
        assert [json.loads(line)["Name"] for line in ps.stdout.splitlines()] == ["ctx-app-1"], ps.stderr
        assert composer(home, tmp_path, "--context", "secure", "down", "-t", "0").returncode == 0
