"""NetworkService against the real kernel: bridges, veths, namespaces, nft rules, the embedded DNS,
published ports; everything gone again afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from engine.errors import Conflict, Forbidden, NotFound
from engine.network import firewall, netlink
from engine.network.service import NetworkService
from tests.integration.network.conftest import in_netns, link_gone, veths_left

pytestmark = pytest.mark.root

BUSYBOX = "/bin/busybox"


def _container(svc: NetworkService, name: str, net: str, **host: Any) -> tuple[str, str]:
    cid = os.urandom(32).hex()
    record = svc.containers_dir / cid / "config.v2.json"  # what engine.containers keeps for a container
    record.parent.mkdir(parents=True)
    record.write_text("{}")
    hc = {"NetworkMode": net, **host}
    svc.on_create(cid, name, hc, {})
    ns = svc.attach(cid, name, {"Hostname": cid[:12]}, hc)
    assert ns is not None
    return cid, ns


def _ip(svc: NetworkService, cid: str) -> str:
    return svc._live[cid].endpoints[0].ip


def test_network_lifecycle_bridge_and_rules(service: NetworkService) -> None:
    n = service.create({"Name": "t-life", "Labels": {"a": "b"}})
    assert netlink.link_exists(n.bridge)
    info = service.inspect(n)
    assert info["Name"] == "t-life" and info["Driver"] == "bridge" and info["Labels"] == {"a": "b"}
    subnet = info["IPAM"]["Config"][0]["Subnet"]
    assert not subnet.startswith("192.0.2.")  # never the host's own route
    assert firewall.exists(service.table)
    assert [x.name for x in service.find({"label": ["a=b"]})] == ["t-life"]
    assert {"bridge", "host", "none"} <= {x.name for x in service.find({})}
    with pytest.raises(Conflict):
        service.create({"Name": "t-life"})
    service.remove("t-life")
    assert link_gone(n.bridge)
    deadline = time.monotonic() + 30
    while service.store.doomed_bridges() and time.monotonic() < deadline:
        time.sleep(0.01)  # the tombstone goes right after the deletion
    assert service.store.doomed_bridges() == []
    assert not firewall.exists(service.table)
    with pytest.raises(NotFound):
        service.get("t-life")
    with pytest.raises(Forbidden):
        service.remove("bridge")


def test_containers_reach_each_other_by_name(service: NetworkService) -> None:
    service.create({"Name": "t-app"})
    web, web_ns = _container(service, "web", "t-app")
    cli, cli_ns = _container(service, "client", "t-app")
    in_netns(cli_ns, BUSYBOX, "ping", "-c", "1", "-W", "3", _ip(service, web))
    out = in_netns(cli_ns, BUSYBOX, "nslookup", "web", "127.0.0.11").stdout
    assert _ip(service, web) in out
    # an unknown single-label name: NXDOMAIN (an answer, not a timeout)
    res = in_netns(cli_ns, BUSYBOX, "nslookup", "nosuchservice", "127.0.0.11", check=False)
    assert res.returncode != 0 and "NXDOMAIN" in res.stdout + res.stderr, (res.stdout, res.stderr)
    # detach cleans the namespace, veth and rules
    veth = service._live[web].endpoints[0].host_veth
    service.detach(web)
    assert not Path(web_ns).exists() and link_gone(veth)
    service.forget(cli)
    assert not veths_left(service.veth_prefix)


def test_aliases_round_robin_and_resolv(service: NetworkService, tmp_path: Path) -> None:
    service.create({"Name": "t-rr"})
    ips = set()
    for i in range(2):
        cid = os.urandom(32).hex()
        hc = {"NetworkMode": "t-rr"}
        service.on_create(cid, f"svc-{i}", hc, {"EndpointsConfig": {"t-rr": {"Aliases": ["db"]}}})
        service.attach(cid, f"svc-{i}", {}, hc)
        ips.add(_ip(service, cid))
    cid, ns = _container(service, "c", "t-rr", ExtraHosts=["gw:host-gateway"])
    answers = service._lookup(cid, "db")
    assert answers is not None and set(answers) == ips
    assert service._lookup(cid, "db") != answers  # rotated
    files = {"/etc/hosts": tmp_path / "hosts", "/etc/resolv.conf": tmp_path / "resolv.conf"}
    files["/etc/resolv.conf"].write_text("nameserver 10.0.0.1\nsearch example.org\n")
    service.write_etc(cid, files, {"Hostname": "myhost"}, {"ExtraHosts": ["gw:host-gateway"]})
    assert files["/etc/resolv.conf"].read_text() == "nameserver 127.0.0.11\nsearch example.org\n"
    hosts = files["/etc/hosts"].read_text()
    assert f"{_ip(service, cid)}\tmyhost" in hosts
    assert f"{service._live[cid].endpoints[0].gateway}\tgw" in hosts


def test_networks_are_isolated(service: NetworkService) -> None:
    service.create({"Name": "t-a"})
    service.create({"Name": "t-b"})
    a, a_ns = _container(service, "a", "t-a")
    b, b_ns = _container(service, "b", "t-b")
    res = in_netns(a_ns, BUSYBOX, "ping", "-c", "1", "-W", "1", _ip(service, b), check=False)
    assert res.returncode != 0
    assert service._lookup(a, "b") is None  # names are scoped per network


def test_published_port_and_internal_network(service: NetworkService, netns_server: Any) -> None:
    service.create({"Name": "t-pub"})
    service.create({"Name": "t-int", "Internal": True})
    srv, srv_ns = _container(
        service, "srv", "t-pub", PortBindings={"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "0"}]}
    )
    netns_server(srv_ns, 80, "hello")
    port = service._live[srv].ports[0].host_port
    assert port > 0
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        assert s.recv(16) == b"hello"
    settings = service.settings(srv, {"ExposedPorts": {"80/tcp": {}}}, {"NetworkMode": "t-pub"})
    assert settings["Ports"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    assert settings["Networks"]["t-pub"]["IPAddress"] == _ip(service, srv)
    # hairpin: the container itself, through the host's gateway address and the published port
    res = in_netns(
        srv_ns, BUSYBOX, "nc", "-w", "2", service.get("t-pub").pools[0].gateway, str(port), check=False
    )
    assert "hello" not in res.stdout  # published on 127.0.0.1 only: not on the gateway address
    # a port already taken is a clear error, and leaves nothing behind
    with pytest.raises(Conflict):
        _container(
            service, "dup", "t-pub", PortBindings={"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
        )
    # an internal network has no way to the other network's published port (nor anywhere off its bridge)
    pub2, pub2_ns = _container(service, "srv2", "t-pub", PortBindings={"81/tcp": [{"HostPort": "0"}]})
    netns_server(pub2_ns, 81, "open")
    port2 = service._live[pub2].ports[0].host_port
    iso, iso_ns = _container(service, "iso", "t-int")
    gw_int = service.get("t-int").pools[0].gateway
    gw_pub = service.get("t-pub").pools[0].gateway
    for target in (gw_int, gw_pub, _ip(service, pub2)):
        res = in_netns(
            iso_ns,
            BUSYBOX,
            "nc",
            "-w",
            "1",
            target,
            str(port2 if target != _ip(service, pub2) else 81),
            check=False,
            timeout=60,
        )
        assert "open" not in res.stdout
    # ...while a container of a normal network reaches it through the host's published port
    other, other_ns = _container(service, "other", "t-pub")
    res = in_netns(other_ns, BUSYBOX, "nc", "-w", "2", gw_pub, str(port2), check=False)
    assert "open" in res.stdout
    # and so does the publishing container itself (hairpin)
    res = in_netns(pub2_ns, BUSYBOX, "nc", "-w", "2", gw_pub, str(port2), check=False)
    assert "open" in res.stdout


def test_reconcile_after_kill(make_service: Any) -> None:
    svc = make_service()
    svc.create({"Name": "t-rec"})
    cid, ns = _container(svc, "gone", "t-rec")
    veth = svc._live[cid].endpoints[0].host_veth
    # "kill -9": a new service on the same state, the container's process long gone
    svc2 = make_service()
    svc2.reconcile()
    assert link_gone(veth) and not Path(ns).exists()
    assert cid not in svc2._live
    assert netlink.link_exists(svc2.get("t-rec").bridge)
    svc2.remove("t-rec")
    assert not firewall.exists(svc2.table)


def _in_namespace(pid: int, ns: str) -> bool:
    try:
        here, there = os.stat(f"/proc/{pid}/ns/net"), os.stat(ns)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def test_reconcile_keeps_living_container(make_service: Any) -> None:
    svc = make_service()
    svc.create({"Name": "t-keep"})
    cid, ns = _container(svc, "alive", "t-keep")
    peer, peer_ns = _container(svc, "peer", "t-keep")
    sleeper = subprocess.Popen(["nsenter", f"--net={ns}", "sleep", "30"])
    try:
        deadline = time.monotonic() + 60  # until the sleeper lives in the namespace (nsenter has entered it)
        while not _in_namespace(sleeper.pid, ns):
            assert time.monotonic() < deadline, "the sleeper never entered the namespace"
            time.sleep(0.02)
        svc.close()
        svc2 = make_service()
        svc2.reconcile()
        assert cid in svc2._live and peer not in svc2._live
        assert svc2.dns.is_open(cid)
        out = in_netns(ns, BUSYBOX, "nslookup", "alive", "127.0.0.11").stdout
        assert _ip(svc2, cid) in out
    finally:
        sleeper.kill()
        sleeper.wait()


def test_dns_forwards_to_upstream(make_service: Any, tmp_path: Path) -> None:
    # a fake upstream resolver on a loopback address of the test's own
    upstream_ip = f"127.{os.getpid() % 200 + 20}.{os.urandom(1)[0]}.53"
    resolv = tmp_path / "resolv.conf"
    resolv.write_text(f"nameserver {upstream_ip}\n")
    up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    up.bind((upstream_ip, 53))
    up.settimeout(60)
    svc = make_service(resolv)
    svc.create({"Name": "t-fwd"})
    cid, ns = _container(svc, "q", "t-fwd")
    proc = subprocess.Popen(
        ["nsenter", f"--net={ns}", BUSYBOX, "nslookup", "-type=a", "example.test", "127.0.0.11"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        data, addr = up.recvfrom(512)
        # answer 192.0.2.99 for it (a fake record; nothing is contacted)
        reply = bytearray(data[:2]) + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + data[12:]
        reply += b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + bytes([192, 0, 2, 99])
        up.sendto(bytes(reply), addr)
        out, _ = proc.communicate(timeout=60)
        assert "192.0.2.99" in out
    finally:
        proc.kill()
        proc.wait()
        up.close()


def test_published_udp_port(service: NetworkService) -> None:
    service.create({"Name": "t-udp"})
    cid, ns = _container(
        service, "u", "t-udp", PortBindings={"5353/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}
    )
    code = (
        "import socket\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('0.0.0.0',5353));print('ready',flush=True)\n"
        "d,a=s.recvfrom(100);s.sendto(b'echo:'+d,a)\n"
    )
    proc = subprocess.Popen(["nsenter", f"--net={ns}", "python3", "-c", code], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        port = service._live[cid].ports[0].host_port
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(5)
            s.sendto(b"hi", ("127.0.0.1", port))
            assert s.recvfrom(100)[0] == b"echo:hi"
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_published_on_ipv6_loopback(service: NetworkService, netns_server: Any) -> None:
    service.create({"Name": "t-v6"})
    cid, ns = _container(service, "v6", "t-v6", PortBindings={"80/tcp": [{"HostIp": "::1", "HostPort": "0"}]})
    netns_server(ns, 80, "six")
    [m] = service._live[cid].ports
    assert m.host_ip == "::1" and m.host_port > 0
    for _ in range(2):  # the proxy serves every connection
        with socket.create_connection(("::1", m.host_port), timeout=5) as s:
            assert s.recv(16) == b"six"
    service.detach(cid)
    with socket.socket(socket.AF_INET6) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the relayed connections sit in TIME_WAIT
        s.bind(("::1", m.host_port))
        s.listen(1)  # nobody listens there any more


def test_port_range_and_links(service: NetworkService) -> None:
    service.create({"Name": "t-rng"})
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        lo = busy.getsockname()[1]
        rng = {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": f"{lo}-{lo + 20}"}]}
        cid, _ = _container(service, "r", "t-rng", PortBindings=rng)
        port = service._live[cid].ports[0].host_port
        assert lo < port <= lo + 20  # the first free port of the range
    db, _ = _container(service, "db1", "t-rng")
    app, _ = _container(service, "app", "t-rng", Links=["/db1:/app/database"])
    assert service._lookup(app, "database") == [_ip(service, db)]
    assert service._lookup(cid, "database") is None  # a link is the linking container's own name


def test_dns_over_tcp(service: NetworkService) -> None:
    service.create({"Name": "t-tcp"})
    web, _ = _container(service, "webtcp", "t-tcp")
    _, ns = _container(service, "asker", "t-tcp")
    code = (
        "import socket,struct\n"
        "q=struct.pack('!HHHHHH',9,256,1,0,0,0)+b'\\x06webtcp\\x00'+struct.pack('!HH',1,1)\n"
        "s=socket.create_connection(('127.0.0.11',53),timeout=30);s.sendall(struct.pack('!H',len(q))+q)\n"
        "n=struct.unpack('!H',s.recv(2))[0];r=b''\n"
        "while len(r)<n: r+=s.recv(n-len(r))\n"
        "print('.'.join(map(str,r[-4:])))\n"
    )
    assert in_netns(ns, "python3", "-c", code).stdout.strip() == _ip(service, web)
