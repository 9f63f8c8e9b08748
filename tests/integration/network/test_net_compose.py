"""Docker Compose v2 (the reference binary) against our engine: a project's services find each other by
service name (all replicas) and container name, a published port shows in `port`, `down` leaves nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from engine.network import firewall, netlink
from engine.network.service import kernel_names
from tests.e2e.helpers import client_env
from tests.integration.network.conftest import veths_left
from tests.support.engine import running_engine
from tests.support.reference import reference_binary

pytestmark = [pytest.mark.root, pytest.mark.e2e, pytest.mark.reference]

COMPOSE = """\
services:
  web:
    image: busybox
    command: httpd -f -p 80 -h /var/www
    deploy:
      replicas: 2
  client:
    image: busybox
    command: sleep 60
    ports:
      - "127.0.0.1:0:80"
"""


# the Go binary itself: the pip wrapper named docker-compose drops the exit status
COMPOSE_BIN = reference_binary() or "docker-compose"


def test_compose_project_service_discovery(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    with running_engine() as eng:
        env = client_env(eng.socket_path, tmp_path / "cfg")

        def run(*argv: str) -> str:
            res = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
            assert res.returncode == 0, f"{argv}: {res.stdout} {res.stderr}"
            return res.stdout

        try:
            run(COMPOSE_BIN, "-p", "n1c", "up", "-d")
            out = run("docker", "exec", "n1c-client-1", "nslookup", "web")
            ips = {
                eng.json("GET", f"/containers/n1c-web-{i}/json")["NetworkSettings"]["Networks"][
                    "n1c_default"
                ]["IPAddress"]
                for i in (1, 2)
            }
            assert all(ip in out for ip in ips)
            assert run("docker", "exec", "n1c-client-1", "wget", "-q", "-O-", "http://web/") == (
                "hello from busybox\n"
            )
            run("docker", "exec", "n1c-client-1", "ping", "-c1", "-W", "3", "n1c-web-2")
            host, _, port = run(COMPOSE_BIN, "-p", "n1c", "port", "client", "80").strip().rpartition(":")
            assert host == "127.0.0.1" and int(port) > 0
        finally:
            subprocess.run(
                [COMPOSE_BIN, "-p", "n1c", "down"],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                timeout=60,
            )
        bridge, table, prefix = kernel_names(eng.data_root)
        assert veths_left(prefix) == [] and not netlink.link_exists(bridge)
        assert not firewall.exists(table)
