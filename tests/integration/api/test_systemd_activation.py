"""The engine under systemd's protocols, without systemd: a socket passed as descriptor 3 with LISTEN_PID /
LISTEN_FDS (what composer-engine.socket does), and readiness on NOTIFY_SOCKET (Type=notify)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.engine import EngineProcess, new_engine

pytestmark = pytest.mark.root


@pytest.fixture
def base() -> Iterator[Path]:
    eng = new_engine()
    try:
        yield eng.base
    finally:
        eng.cleanup()


def _spawn(base: Path, listener: socket.socket | None, notify: str | None) -> subprocess.Popen[bytes]:
    """bash sets LISTEN_PID to its own pid and execs the engine, which keeps that pid (as systemd does before
    exec); the listener is moved to descriptor 3 (bash, as dash takes single-digit descriptors only)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LISTEN_", "NOTIFY_"))}
    if notify:
        env["NOTIFY_SOCKET"] = notify
    engine = (
        f"exec {sys.executable} -m engine.daemon -H fd:// --data-root {base}/data --exec-root {base}/exec"
    )
    if listener is not None:
        script = f"LISTEN_PID=$$ LISTEN_FDS=1 {engine} 3<&{listener.fileno()}"
        fds: tuple[int, ...] = (listener.fileno(),)
    else:
        script, fds = engine, ()
    log = open(base / "engine.log", "ab")  # noqa: SIM115 - the child has its own copy
    with log:
        return subprocess.Popen(
            ["bash", "-c", script],
            pass_fds=fds,
            stdout=log,
            stderr=log,
            env=env,
            cwd=Path(__file__).parents[3],
        )


def test_socket_activation_and_readiness(base: Path) -> None:
    eng = EngineProcess(base)  # its socket path is the activated socket: its request helpers work
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(eng.socket_path))
    listener.listen(16)
    ready = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ready.bind(str(base / "notify.sock"))
    ready.settimeout(30)
    proc = _spawn(base, listener, str(base / "notify.sock"))
    listener.close()  # the engine holds its copy; nobody else accepts on it
    try:
        assert ready.recv(256) == b"READY=1", (base / "engine.log").read_text()
        assert eng.request("GET", "/_ping").body == b"OK"
        eng.import_busybox()
        cid = eng.run(["sleep", "100"], HostConfig={"NetworkMode": "none"})
        # the activation variables are not passed on: a monitor must not think the socket is its own
        status = json.loads(next((eng.exec_root / "runtime").glob(f"{cid}/*status.json")).read_text())
        environ = Path(f"/proc/{status['monitor_pid']}/environ").read_bytes().split(b"\0")
        assert not any(v.startswith(b"LISTEN_") for v in environ), environ
        eng.remove_all_containers()
        proc.terminate()
        assert proc.wait(60) == 0
        assert ready.recv(256) == b"STOPPING=1"
        assert eng.socket_path.exists()  # the socket is systemd's: the engine leaves the file alone
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        ready.close()


def test_fd_host_without_activation_is_one_line(base: Path) -> None:
    proc = _spawn(base, None, None)
    assert proc.wait(60) == 1
    err = (base / "engine.log").read_text().strip()
    assert err == (
        "composer-engine: no sockets found via socket activation: "
        "make sure the service was started by systemd"
    )


def test_activation_for_another_process_is_refused(base: Path) -> None:
    env = {**os.environ, "LISTEN_PID": "1", "LISTEN_FDS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "engine.daemon", "-H", "fd://", "--data-root", f"{base}/data",
         "--exec-root", f"{base}/exec"],
        env=env, capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[3],
    )  # fmt: skip
    assert proc.returncode == 1
    assert "LISTEN_PID=1 is not this process" in proc.stderr


def test_clients_queue_across_an_engine_restart(base: Path) -> None:
    """The socket outlives the engine (systemd holds it): a request sent while no engine runs waits in the
    listen backlog and is answered by the next engine."""
    path = base / "e.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(16)
    ready = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ready.bind(str(base / "notify.sock"))
    ready.settimeout(30)
    procs = [_spawn(base, listener, str(base / "notify.sock"))]
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        assert ready.recv(256) == b"READY=1"
        procs[0].terminate()
        assert procs[0].wait(60) == 0 and ready.recv(256) == b"STOPPING=1"
        client.settimeout(30)
        client.connect(str(path))  # accepted by the kernel into the backlog: no engine runs
        client.sendall(b"GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n")
        procs.append(_spawn(base, listener, str(base / "notify.sock")))
        reply = b""
        while chunk := client.recv(4096):
            reply += chunk
        assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"OK"), reply
    finally:
        client.close()
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(60)
        listener.close()
        ready.close()
