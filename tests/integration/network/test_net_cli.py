"""The real docker CLI against a private engine: network create/ls/inspect/connect/disconnect/rm, containers
reaching each other by name, a published port serving busybox httpd to the host, internal networks."""

from __future__ import annotations

import contextlib
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.network import netlink
from engine.network.service import kernel_names
from tests.e2e.helpers import DockerCLI, client_env, wait_until
from tests.integration.network.conftest import link_gone, veths_left
from tests.support.engine import EngineProcess, running_engine

pytestmark = [pytest.mark.root, pytest.mark.e2e]


def _served(url: str) -> bytes:
    """The body at url once the container's httpd listens (a loaded machine starts it late: until then the
    connection is refused or reset), waiting up to 60 s."""

    def get() -> bytes | None:
        try:
            return urllib.request.urlopen(url, timeout=10).read()  # type: ignore[no-any-return]
        except urllib.error.HTTPError:
            raise  # served, wrongly: no retry
        except urllib.error.URLError as e:
            if isinstance(e.reason, ConnectionError | TimeoutError):
                return None
            raise
        except ConnectionError:  # accepted, then reset or closed before the reply
            return None

    return wait_until(get, timeout=60, interval=0.1, what=f"{url} to be served")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def engine() -> Iterator[EngineProcess]:
    with running_engine() as eng:
        try:
            yield eng
        finally:
            # networks are not swept by the shared engine helper: remove ours while the engine still runs
            with contextlib.suppress(Exception):
                eng.remove_all_containers()
                for n in eng.json("GET", "/networks"):
                    if n["Name"] not in ("bridge", "host", "none"):
                        eng.request("DELETE", f"/networks/{n['Id']}")


@pytest.fixture(scope="module")
def docker(engine: EngineProcess, tmp_path_factory: pytest.TempPathFactory) -> DockerCLI:
    return DockerCLI(client_env(engine.socket_path, tmp_path_factory.mktemp("dcfg")))


def engine_data_root(docker: DockerCLI) -> Path:
    return Path(docker.env["DOCKER_HOST"].removeprefix("unix://")).parent / "data"


def _name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def test_network_commands(docker: DockerCLI) -> None:
    net = _name("n1")
    nid = docker("network", "create", "--label", "k=v", "--subnet", "10.213.7.0/24", net).out.strip()
    try:
        assert net in docker("network", "ls", "--format", "{{.Name}}").out.split()
        assert {"bridge", "host", "none"} <= set(docker("network", "ls", "--format", "{{.Name}}").out.split())
        info = json.loads(docker("network", "inspect", net).out)[0]
        assert info["Id"] == nid and info["IPAM"]["Config"][0]["Subnet"] == "10.213.7.0/24"
        bridge = info["Options"].get("com.docker.network.bridge.name") or f"br-{nid[:12]}"
        assert netlink.link_exists(bridge)
        assert docker("network", "ls", "-q", "--filter", "label=k=v").out.split() == [nid[:12]]
        c = _name("c")
        docker("run", "-d", "--name", c, "busybox", "sleep", "60")
        docker("network", "connect", "--ip", "10.213.7.50", "--alias", "extra", net, c)
        info = json.loads(docker("network", "inspect", net).out)[0]
        [(cid, entry)] = info["Containers"].items()
        assert entry["Name"] == c and entry["IPv4Address"] == "10.213.7.50/24"
        out = docker("exec", c, "ip", "-4", "addr").out
        assert "10.213.7.50" in out
        docker("network", "disconnect", net, c)
        assert "10.213.7.50" not in docker("exec", c, "ip", "-4", "addr").out
        docker("rm", "-f", c)
        assert docker("network", "rm", "bridge", check=False).rc != 0
        res = docker("run", "--rm", "--network", "no-such-net", "busybox", "true", check=False)
        assert res.rc != 0 and "network no-such-net not found" in res.err and "Pulling" not in res.err
        # a container that ends at once (a crash) leaves no veth or namespace behind
        prefix = kernel_names(engine_data_root(docker))[2]
        assert docker("run", "--network", net, "busybox", "sh", "-c", "exit 3", check=False).rc == 3
        assert veths_left(prefix) == []
        unused = _name("unused")
        docker("network", "create", unused)
        assert unused in docker("network", "prune", "-f").out
        assert net in docker("network", "ls", "--format", "{{.Name}}").out  # prune: only unused ones
    finally:
        docker("network", "rm", net)
    assert link_gone(f"br-{nid[:12]}")


def test_containers_talk_by_name(docker: DockerCLI) -> None:
    net, web, cli = _name("app"), _name("web"), _name("cli")
    docker("network", "create", net)
    try:
        docker(
            "run",
            "-d",
            "--name",
            web,
            "--network",
            net,
            "--network-alias",
            "websvc",
            "busybox",
            "httpd",
            "-f",
            "-p",
            "80",
            "-h",
            "/var/www",
        )
        docker("run", "-d", "--name", cli, "--network", net, "busybox", "sleep", "60")
        assert docker("exec", cli, "cat", "/etc/resolv.conf").out.startswith("nameserver 127.0.0.11")
        docker("exec", cli, "ping", "-c", "1", "-W", "3", web)
        page = docker("exec", cli, "wget", "-q", "-O", "-", "http://websvc/").out
        assert page == "hello from busybox\n"  # served by busybox httpd, reached by its alias
        ip = json.loads(docker("inspect", web).out)[0]["NetworkSettings"]["Networks"][net]["IPAddress"]
        assert ip in docker("exec", cli, "nslookup", web).out
        hosts = docker("exec", web, "cat", "/etc/hosts").out
        assert ip in hosts
        gw = json.loads(docker("network", "inspect", net).out)[0]["IPAM"]["Config"][0]["Gateway"]
        extra = docker(
            "run",
            "--rm",
            "--network",
            net,
            "--hostname",
            "h1",
            "--add-host",
            "gw:host-gateway",
            "--add-host",
            "db:10.1.2.3",
            "busybox",
            "cat",
            "/etc/hosts",
        ).out
        assert f"{gw}\tgw" in extra and "10.1.2.3\tdb" in extra and "\th1\n" in extra
    finally:
        docker("rm", "-f", web, cli, check=False)
        docker("network", "rm", net)


def test_published_port_http_from_host(docker: DockerCLI) -> None:
    c = _name("pub")
    docker(
        "run",
        "-d",
        "--name",
        c,
        "-p",
        "127.0.0.1:0:80",
        "busybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/var/www",
    )
    try:
        out = docker("port", c, "80").out.strip()
        host, _, port = out.splitlines()[0].rpartition(":")
        assert host == "127.0.0.1" and int(port) > 0
        body = _served(f"http://127.0.0.1:{port}/")
        assert body == b"hello from busybox\n"  # the test image's index.html
        ports = json.loads(docker("inspect", c).out)[0]["NetworkSettings"]["Ports"]
        assert ports["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": port}]
        # IPv6 loopback too (relayed by the engine's proxy)
        c6 = c + "v6"
        docker(
            "run",
            "-d",
            "--name",
            c6,
            "-p",
            "[::1]:0:80",
            "busybox",
            "httpd",
            "-f",
            "-p",
            "80",
            "-h",
            "/var/www",
        )
        port6 = docker("port", c6, "80").out.strip().splitlines()[0].rpartition(":")[2]
        assert _served(f"http://[::1]:{port6}/") == b"hello from busybox\n"
        docker("rm", "-f", c6)
        # the same port again: a clear error at start
        res = docker(
            "run", "-d", "--name", c + "x", "-p", f"127.0.0.1:{port}:80", "busybox", "true", check=False
        )
        assert res.rc != 0 and port in res.err
    finally:
        docker("rm", "-f", c, c + "x", check=False)


def test_internal_network_cannot_reach_published_port(docker: DockerCLI) -> None:
    pub, inner, srv, iso = _name("pubn"), _name("intn"), _name("srv"), _name("iso")
    docker("network", "create", pub)
    docker("network", "create", "--internal", inner)
    try:
        docker(
            "run",
            "-d",
            "--name",
            srv,
            "--network",
            pub,
            "-p",
            "0:80",
            "busybox",
            "httpd",
            "-f",
            "-p",
            "80",
            "-h",
            "/var/www",
        )
        port = docker("port", srv, "80").out.splitlines()[0].rpartition(":")[2]
        docker("run", "-d", "--name", iso, "--network", inner, "busybox", "sleep", "60")
        gw_pub = json.loads(docker("network", "inspect", pub).out)[0]["IPAM"]["Config"][0]["Gateway"]
        gw_int = json.loads(docker("network", "inspect", inner).out)[0]["IPAM"]["Config"][0]["Gateway"]
        for gw in (gw_int, gw_pub):
            res = docker("exec", iso, "wget", "-q", "-T", "2", "-O", "-", f"http://{gw}:{port}/", check=False)
            assert res.rc != 0
        assert docker("exec", iso, "cat", "/etc/resolv.conf").out.startswith("nameserver 127.0.0.11")
    finally:
        docker("rm", "-f", srv, iso, check=False)
        docker("network", "rm", pub, inner)
