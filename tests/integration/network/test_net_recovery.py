"""A killed daemon (kill -9) leaves its networking to the next start: the living keep their endpoints,
published ports and embedded DNS; what ended meanwhile is released (veths, namespaces, rules)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pytest

from engine.network import firewall, netlink
from engine.network.service import kernel_names
from engine.runtime.state import pid_alive
from tests.integration.network.conftest import veths_left
from tests.support.engine import EngineProcess, running_engine

pytestmark = pytest.mark.root


@pytest.fixture
def engine() -> Iterator[EngineProcess]:
    with running_engine() as eng:
        yield eng


def _exec(eng: EngineProcess, cid: str, *cmd: str) -> tuple[int, str]:
    # the real docker CLI keeps this short and exercises the whole exec path
    env = {"DOCKER_HOST": eng.docker_host, "PATH": os.environ["PATH"], "HOME": str(eng.base)}
    res = subprocess.run(["docker", "exec", cid, *cmd], capture_output=True, text=True, env=env, timeout=60)
    return res.returncode, res.stdout + res.stderr


def test_kill9_restart_reconciles(engine: EngineProcess) -> None:
    engine.json("POST", "/networks/create", {"Name": "rec-net"})
    httpd = ["httpd", "-f", "-p", "80", "-h", "/var/www"]
    keep = engine.run(
        httpd,
        HostConfig={
            "NetworkMode": "rec-net",
            "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "0"}]},
        },
        ExposedPorts={"80/tcp": {}},
    )
    gone = engine.run(["sleep", "300"], HostConfig={"NetworkMode": "rec-net"})
    info = engine.json("GET", f"/containers/{keep}/json")
    port = int(info["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"])
    gone_pid = engine.json("GET", f"/containers/{gone}/json")["State"]["Pid"]
    _, _, prefix = kernel_names(engine.data_root)
    assert len(netlink.list_links(prefix)) == 2

    engine.kill9()
    os.kill(gone_pid, signal.SIGKILL)  # ends while no daemon watches
    deadline = time.monotonic() + 60
    while pid_alive(gone_pid):
        assert time.monotonic() < deadline, "the killed container process lingers"
        time.sleep(0.02)
    engine.start()

    assert len(veths_left(prefix, keep=1)) == 1  # the dead container's veth is gone, the living's stays
    assert engine.json("GET", f"/containers/{gone}/json")["State"]["Running"] is False
    assert urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30).read() == b"hello from busybox\n"
    rc, out = _exec(engine, keep, "nslookup", keep[:12])
    assert rc == 0 and info["NetworkSettings"]["Networks"]["rec-net"]["IPAddress"] in out
    # the port is still held: nobody else can take it
    with socket.socket() as s, pytest.raises(OSError):
        s.bind(("127.0.0.1", port))

    engine.request("DELETE", f"/containers/{keep}?force=1")
    engine.request("DELETE", f"/containers/{gone}?force=1")
    assert engine.request("DELETE", "/networks/rec-net").status == 204
    assert veths_left(prefix) == []
    assert not firewall.exists(kernel_names(engine.data_root)[1])
