"""The rtnetlink client and the teardown policy against the real kernel: clear errors, veths of ended
containers gone with their namespace (or by the reaper when something still holds it), and the default
bridge kept while the daemon runs but not after."""

from __future__ import annotations

import errno
import os
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.errors import SystemError_
from engine.network import firewall, netlink
from engine.network.rtnl import Rtnl, RtnlError
from engine.network.service import NetworkService
from tests.integration.network.conftest import link_gone

pytestmark = pytest.mark.root


@pytest.fixture
def bridge_name() -> Iterator[str]:
    name = f"nlt{secrets.token_hex(4)}"
    try:
        yield name
    finally:
        netlink.delete_link(name)


def test_errors_are_clear_and_deletes_idempotent(bridge_name: str) -> None:
    netlink.ensure_bridge(bridge_name, "10.231.9.1", 24, 1400)
    netlink.ensure_bridge(bridge_name, "10.231.9.1", 24, 1400)  # adopted, address not doubled
    with Rtnl() as nl:
        idx = nl.link_index(bridge_name)
        assert idx is not None
        assert [(a.address, a.prefixlen) for a in nl.addrs(idx)] == [("10.231.9.1", 24)]
        with pytest.raises(RtnlError) as made_twice:
            nl.add_bridge(bridge_name)
        assert made_twice.value.errno == errno.EEXIST
        with pytest.raises(RtnlError) as missing:
            nl.del_link(0x7FFFFFF0)
        assert missing.value.errno == errno.ENODEV and "No such device" in str(missing.value)
        assert nl.link_index("nosuchlink0") is None
    assert Path(f"/sys/class/net/{bridge_name}/mtu").read_text().strip() == "1400"
    assert int(Path(f"/sys/class/net/{bridge_name}/flags").read_text(), 16) & 1  # IFF_UP
    assert any(str(n) == "10.231.9.0/24" for n in netlink.host_networks())
    netlink.delete_link(bridge_name)
    netlink.delete_link(bridge_name)  # already gone: success
    assert not netlink.link_exists(bridge_name)


def test_veth_on_missing_bridge_is_one_clear_error(tmp_path: Path) -> None:
    spec = netlink.VethSpec("nltv" + secrets.token_hex(3), "nosuchbr0", "eth0", "10.231.8.2", 24, "", None)
    ns = tmp_path / "ns"
    with pytest.raises(SystemError_, match="bridge nosuchbr0 is missing"):
        netlink.plumb(ns, [spec], True)
    assert not ns.exists()  # the namespace made for it is gone again


def _held(ns: str) -> subprocess.Popen[bytes]:
    """A process living in the namespace (a `container:<id>` sharer outliving the owner)."""
    return subprocess.Popen(["nsenter", f"--net={ns}", "sleep", "30"])


def test_ended_containers_veth_goes_even_when_the_namespace_is_held(service: NetworkService) -> None:
    service.create({"Name": "t-held"})
    cid = os.urandom(32).hex()
    (service.containers_dir / cid).mkdir(parents=True)
    (service.containers_dir / cid / "config.v2.json").write_text("{}")
    hc = {"NetworkMode": "t-held"}
    service.on_create(cid, "held", hc, {})
    ns = service.attach(cid, "held", {}, hc)
    assert ns is not None
    veth = service._live[cid].endpoints[0].host_veth
    sharer = _held(ns)
    try:
        service.detach(cid)
        assert cid not in service._live and not Path(ns).exists()
        # the namespace lives on in the sharer, so the kernel keeps the pair: the reaper deletes it
        assert link_gone(veth)
    finally:
        sharer.kill()
        sharer.wait()
    service.forget(cid)
    service.remove("t-held")


def test_default_bridge_kept_while_running_and_removed_at_close(service: NetworkService) -> None:
    cid = os.urandom(32).hex()
    (service.containers_dir / cid).mkdir(parents=True)
    (service.containers_dir / cid / "config.v2.json").write_text("{}")
    service.on_create(cid, "plain", {}, {})
    assert service.attach(cid, "plain", {}, {}) is not None
    assert netlink.link_exists(service.default_bridge) and firewall.exists(service.table)
    service.forget(cid)
    # as docker0: the next start neither makes the bridge nor loads rules again
    assert netlink.link_exists(service.default_bridge) and firewall.exists(service.table)
    service.close()
    assert not netlink.link_exists(service.default_bridge)
    assert not firewall.exists(service.table)


def test_bridge_of_a_network_removed_by_a_dying_daemon_is_deleted_at_start(make_service: Any) -> None:
    svc = make_service()
    n = svc.create({"Name": "t-doomed"})
    # the daemon died right after the record went, before its reaper deleted the bridge
    svc.store.doom_bridge(n.bridge)
    svc.store.delete_network(n.id)
    assert netlink.link_exists(n.bridge)
    svc2 = make_service()
    svc2.reconcile()
    assert not netlink.link_exists(n.bridge) and svc2.store.doomed_bridges() == []


def test_custom_bridge_name_reused_at_once(service: NetworkService) -> None:
    name = f"nlc{secrets.token_hex(4)}"
    opts = {"com.docker.network.bridge.name": name}
    service.remove(service.create({"Name": "t-first", "Options": opts}).id)
    again = service.create({"Name": "t-again", "Options": opts})  # its predecessor's deletion was queued
    assert again.bridge == name
    time.sleep(0.1)  # the reaper would have deleted a name still queued by now
    assert netlink.link_exists(name)
    service.remove(again.id)
    assert link_gone(name)


def _nft_list(table: str) -> str:
    return subprocess.run(["nft", "-a", "list", "table", "ip", table], capture_output=True, text=True).stdout


def test_rule_changes_keep_the_chains_and_survive_a_hand_edited_table() -> None:
    """A change is loaded into the kept table (same chain handles); when someone rebuilt a chain by hand
    with another priority, the in-place load fails and the table is rebuilt with our rules."""
    table = f"nlt{secrets.token_hex(4)}"
    bridges = [firewall.BridgeRules("nltbr0", "10.231.8.0/24", False)]
    one = [firewall.Forward("tcp", "127.0.0.1", 18080, "10.231.8.2", 80)]
    two = [firewall.Forward("tcp", "127.0.0.1", 18080, "10.231.8.2", 80, ("10.231.8.3",))]
    try:
        firewall.apply(table, bridges, one, force=True)
        first = _nft_list(table)
        firewall.apply(table, bridges, two)
        second = _nft_list(table)
        assert "dnat to 10.231.8.3:80" in second and "dnat to 10.231.8.3:80" not in first
        handles = re.compile(r"chain (\w+) \{ # handle (\d+)")
        assert handles.findall(second) == handles.findall(first) and len(handles.findall(first)) == 6
        # by hand: the output chain made again at another priority
        subprocess.run(
            ["nft", "-f", "-"],
            input=f"delete chain ip {table} output\n"
            f"add chain ip {table} output {{ type nat hook output priority -50; policy accept; }}\n",
            text=True,
            check=True,
        )
        firewall.apply(table, bridges, one)
        third = _nft_list(table)
        assert "priority -50" not in third and "dnat to 10.231.8.3:80" not in third, third
        assert "dnat to 10.231.8.2:80" in third and "fib daddr type local jump ports" in third, third
    finally:
        firewall.remove(table)
    assert not firewall.exists(table)
