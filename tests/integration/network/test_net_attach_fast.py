"""The attach path's speed-ups keep its behaviour: a start does not wait for a busy event loop to serve the
embedded DNS (queries wait in the kernel instead), attaches and detaches run concurrently without sharing an
address or leaking a veth, and connect plumbs a second endpoint into a running container's namespace."""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from engine.network import netlink
from engine.network.service import NetworkService
from tests.e2e.helpers import wait_until
from tests.integration.network.conftest import in_netns, veths_left

pytestmark = pytest.mark.root

BUSYBOX = "/bin/busybox"


def _made(svc: NetworkService, name: str, net: str) -> tuple[str, dict[str, Any]]:
    cid = os.urandom(32).hex()
    record = svc.containers_dir / cid / "config.v2.json"
    record.parent.mkdir(parents=True)
    record.write_text("{}")
    hc = {"NetworkMode": net}
    svc.on_create(cid, name, hc, {})
    return cid, hc


def _addresses(ns: str) -> list[dict[str, Any]]:
    return json.loads(in_netns(ns, "ip", "-j", "addr").stdout)  # type: ignore[no-any-return]


def _links_once_up(ns: str) -> dict[str, dict[str, Any]]:
    """The namespace's links by name once eth0's operational state is UP: the kernel reports a veth's
    carrier through its link-watch work, which runs up to a second after the link was set up (later while
    many links change at once), so the state is waited for (up to 30 s), not read once."""

    def links() -> dict[str, dict[str, Any]] | None:
        got = {a["ifname"]: a for a in _addresses(ns)}
        return got if got["eth0"]["operstate"] == "UP" else None

    return wait_until(links, timeout=30, interval=0.05, what=f"eth0 up in {ns}")  # type: ignore[no-any-return]


def test_start_does_not_wait_for_a_busy_loop(service: NetworkService) -> None:
    service.create({"Name": "t-busy"})
    web, hc = _made(service, "web", "t-busy")
    service.attach(web, "web", {}, hc)
    cli, hc = _made(service, "cli", "t-busy")
    loop = service.dns.loop
    assert loop is not None
    busy, free = threading.Event(), threading.Event()

    def something_else() -> None:  # the daemon's loop, busy with something else for a long while
        busy.set()
        time.sleep(8.0)
        free.set()

    loop.call_soon_threadsafe(something_else)
    assert busy.wait(60)
    ns = service.attach(cli, "cli", {}, hc)
    assert ns is not None
    assert not free.is_set()  # the attach came back while the loop was still busy: it did not wait for it
    # the listener is bound already: the query waits in its socket until the loop is free, then is answered
    # (a client of our own, with room for the loop's 8 s: busybox nslookup gives up after 5 s)
    query = (
        "import socket,struct\n"
        "q=struct.pack('!HHHHHH',9,256,1,0,0,0)+b'\\x03web\\x00'+struct.pack('!HH',1,1)\n"
        "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(60);s.sendto(q,('127.0.0.11',53))\n"
        "r=s.recv(512);print('.'.join(map(str,r[-4:])))\n"
    )
    out = in_netns(ns, "python3", "-c", query, timeout=90).stdout
    assert out.strip() == service._live[web].endpoints[0].ip


def test_container_routes_acknowledge_at_once(service: NetworkService) -> None:
    """The container's subnet and default routes carry the quickack metric (engine.network.netlink._ns_side:
    a sender to a published port is not held back by delayed ACKs); the subnet route is otherwise the
    kernel's, and a link taken down and up gets the kernel's own back."""
    service.create({"Name": "t-ack"})
    cid, hc = _made(service, "web", "t-ack")
    ns = service.attach(cid, "web", {}, hc)
    assert ns is not None
    ep = service._live[cid].endpoints[0]
    routes = {r["dst"]: r for r in json.loads(in_netns(ns, "ip", "-j", "route").stdout)}
    subnet = service.get("t-ack").pools[0].subnet
    assert set(routes) == {"default", subnet}
    assert routes["default"]["metrics"] == [{"quickack": 1}]
    assert routes["default"]["gateway"] == service.get("t-ack").pools[0].gateway
    sub = routes[subnet]
    assert (sub["protocol"], sub["scope"], sub["prefsrc"], sub["dev"]) == ("kernel", "link", ep.ip, "eth0")
    assert sub["metrics"] == [{"quickack": 1}]
    in_netns(ns, "ip", "link", "set", "eth0", "down")
    in_netns(ns, "ip", "link", "set", "eth0", "up")
    again = {r["dst"]: r for r in json.loads(in_netns(ns, "ip", "-j", "route").stdout)}
    assert again[subnet]["prefsrc"] == ep.ip and "metrics" not in again[subnet]


def test_container_ipv6_routes_acknowledge_at_once(service: NetworkService) -> None:
    service.create({"Name": "t-ack6", "EnableIPv6": True, "IPAM": {"Config": [{"Subnet": "fd42:18::/64"}]}})
    made = [_made(service, name, "t-ack6") for name in ("a", "b")]
    spaces = [service.attach(cid, name, {}, hc) for (cid, hc), name in zip(made, ("a", "b"), strict=True)]
    ns = spaces[0]
    assert ns is not None
    routes = {r["dst"]: r for r in json.loads(in_netns(ns, "ip", "-6", "-j", "route").stdout)}
    sub = routes["fd42:18::/64"]  # the kernel's route, replaced in place: one route, metric 256
    assert (sub["protocol"], sub["metric"], sub["metrics"]) == ("kernel", 256, [{"quickack": 1}])
    assert routes["default"]["gateway"] == "fd42:18::1" and routes["default"]["metrics"] == [{"quickack": 1}]
    in_netns(ns, BUSYBOX, "ping", "-c", "1", "-W", "10", service._live[made[1][0]].endpoints[0].ip6)


def test_concurrent_attach_and_detach(service: NetworkService) -> None:
    service.create({"Name": "t-many"})
    made = [_made(service, f"c{i}", "t-many") for i in range(12)]
    with ThreadPoolExecutor(6) as pool:
        spaces = list(pool.map(lambda m: service.attach(m[0], m[0], {}, m[1]), made))
    ips = [service._live[cid].endpoints[0].ip for cid, _ in made]
    assert len(set(ips)) == len(ips)
    for ns, ip, (cid, _) in zip(spaces, ips, made, strict=True):
        assert ns is not None
        links = _links_once_up(ns)
        eth0 = links["eth0"]
        assert eth0["mtu"] == 65520
        assert eth0["address"] == service._live[cid].endpoints[0].mac
        assert [x["local"] for x in eth0["addr_info"] if x["family"] == "inet"] == [ip]
        assert links["lo"]["flags"].count("UP") == 1
        assert "default via" in in_netns(ns, "ip", "route").stdout
    assert spaces[0] is not None
    in_netns(spaces[0], BUSYBOX, "ping", "-c", "1", "-W", "3", ips[-1])
    veths = [service._live[cid].endpoints[0].host_veth for cid, _ in made]
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda m: service.forget(m[0]), made))
    assert not veths_left(service.veth_prefix)
    assert not any(netlink.link_exists(v) for v in veths)
    assert not any(Path(ns).exists() for ns in spaces if ns)
    assert service._live == {}


def test_connect_plumbs_a_second_endpoint(service: NetworkService) -> None:
    service.create({"Name": "t-front"})
    service.create({"Name": "t-back"})
    db, hc = _made(service, "db", "t-back")
    service.attach(db, "db", {}, hc)
    web, hc = _made(service, "web", "t-front")
    ns = service.attach(web, "web", {}, hc)
    assert ns is not None
    service.connect("t-back", web, "web", True, hc, {"Aliases": ["www"]})
    eps = service._live[web].endpoints
    assert [e.ifname for e in eps] == ["eth0", "eth1"]
    links = {a["ifname"]: a for a in _addresses(ns)}
    assert [x["local"] for x in links["eth1"]["addr_info"] if x["family"] == "inet"] == [eps[1].ip]
    # one default route, through the first network; the second network is reached on its own subnet
    assert in_netns(ns, "ip", "route").stdout.count("default") == 1
    in_netns(ns, BUSYBOX, "ping", "-c", "1", "-W", "3", service._live[db].endpoints[0].ip)
    out = in_netns(ns, BUSYBOX, "nslookup", "db", "127.0.0.11").stdout
    assert service._live[db].endpoints[0].ip in out
