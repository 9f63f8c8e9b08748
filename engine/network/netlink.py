"""Kernel objects through netlink (pyroute2): bridges, veth pairs, addresses, routes, network namespaces.

Every function is idempotent where it can be (deleting what is already gone is success), so cleanup and
the start-up reconcile can call them blindly.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
from pathlib import Path

from pyroute2 import IPRoute, netns
from pyroute2.netlink.exceptions import NetlinkError

from engine.errors import Conflict, SystemError_

log = logging.getLogger(__name__)

ENOENT, ENODEV, EEXIST = 2, 19, 17


def _fail(what: str, e: NetlinkError) -> SystemError_:
    return SystemError_(f"{what}: {e.args[1] if len(e.args) > 1 else e}")


def link_index(ipr: IPRoute, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


def link_exists(name: str) -> bool:
    with IPRoute() as ipr:
        return link_index(ipr, name) is not None


def ensure_bridge(name: str, gateway: str, prefixlen: int, mtu: int = 0) -> None:
    """Create (or adopt) bridge `name` with the gateway address, up."""
    with IPRoute() as ipr:
        idx = link_index(ipr, name)
        if idx is None:
            try:
                ipr.link("add", ifname=name, kind="bridge")
            except NetlinkError as e:
                raise _fail(f"failed to create bridge {name}", e) from None
            idx = link_index(ipr, name)
        assert idx is not None
        if gateway:
            have = {a.get("IFA_ADDRESS") for a in ipr.get_addr(index=idx, family=2)}
            if gateway not in have:
                try:
                    ipr.addr("add", index=idx, address=gateway, prefixlen=prefixlen)
                except NetlinkError as e:
                    if e.code != EEXIST:
                        raise _fail(f"failed to set address on {name}", e) from None
        if mtu:
            ipr.link("set", index=idx, mtu=mtu)
        ipr.link("set", index=idx, state="up")


def delete_link(name: str) -> None:
    with IPRoute() as ipr:
        idx = link_index(ipr, name)
        if idx is None:
            return
        try:
            ipr.link("del", index=idx)
        except NetlinkError as e:
            if e.code not in (ENOENT, ENODEV):
                raise _fail(f"failed to delete {name}", e) from None


def list_links(prefix: str) -> list[str]:
    with IPRoute() as ipr:
        names = [link.get("IFLA_IFNAME") for link in ipr.get_links()]
    return [n for n in names if n and n.startswith(prefix)]


def host_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 route destination and interface network of the host: subnets we must never reuse."""
    out: list[ipaddress.IPv4Network] = []
    with IPRoute() as ipr:
        for r in ipr.get_routes(family=2, table=254):
            dst = r.get("RTA_DST")
            if dst:
                out.append(ipaddress.IPv4Network(f"{dst}/{r['dst_len']}", strict=False))
        for a in ipr.get_addr(family=2):
            out.append(ipaddress.IPv4Network(f"{a.get('IFA_ADDRESS')}/{a['prefixlen']}", strict=False))
    return out


def set_sysctl(path: str, value: str) -> None:
    p = Path("/proc/sys") / path
    try:
        if p.read_text().strip() != value:
            p.write_text(value)
    except OSError as e:
        log.warning("sysctl not set key=%s error=%s", path, e)


# --- namespaces -------------------------------------------------------------------------------------


def create_netns(path: Path) -> None:
    """A new network namespace kept alive by a bind mount on `path`, loopback up."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and os.path.ismount(path):
        return
    netns.create(str(path))
    with IPRoute(netns=str(path)) as ipr:
        idx = link_index(ipr, "lo")
        if idx is not None:
            ipr.link("set", index=idx, state="up")


def remove_netns(path: Path) -> None:
    if os.path.ismount(path):
        with contextlib.suppress(OSError):
            netns.remove(str(path))
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def add_veth(host_name: str, peer_tmp: str, bridge: str, ns_path: Path, mtu: int = 0) -> None:
    """A veth pair: `host_name` enslaved to `bridge` (up), `peer_tmp` moved into the namespace."""
    with IPRoute() as ipr:
        if link_index(ipr, host_name) is not None:
            raise Conflict(f"interface {host_name} already exists")
        try:
            ipr.link(
                "add", ifname=host_name, kind="veth", peer={"ifname": peer_tmp, "net_ns_fd": str(ns_path)}
            )
        except NetlinkError as e:
            raise _fail("failed to create veth pair", e) from None
        idx = link_index(ipr, host_name)
        br = link_index(ipr, bridge)
        if idx is None or br is None:
            raise SystemError_(f"bridge {bridge} or veth {host_name} vanished")
        ipr.link("set", index=idx, master=br, state="up")


def configure_peer(
    ns_path: Path, tmp: str, ifname: str, ip: str, prefixlen: int, mac: str, gateway: str | None
) -> str:
    """Inside the namespace: rename the peer, give it its address (and default route); returns its MAC."""
    with IPRoute(netns=str(ns_path)) as ipr:
        idx = link_index(ipr, tmp)
        if idx is None:
            raise SystemError_(f"veth peer {tmp} missing in {ns_path}")
        ipr.link("set", index=idx, ifname=ifname)
        if mac:
            ipr.link("set", index=idx, address=mac)
        ipr.addr("add", index=idx, address=ip, prefixlen=prefixlen)
        ipr.link("set", index=idx, state="up")
        if gateway:
            try:
                ipr.route("add", dst="0.0.0.0/0", gateway=gateway, oif=idx)
            except NetlinkError as e:
                if e.code != EEXIST:
                    raise _fail("failed to set the default route", e) from None
        link = ipr.get_links(idx)[0]
        return str(link.get("IFLA_ADDRESS"))


def used_ifnames(ns_path: Path) -> set[str]:
    with IPRoute(netns=str(ns_path)) as ipr:
        return {str(link.get("IFLA_IFNAME")) for link in ipr.get_links()}


def delete_in_netns(ns_path: Path, ifname: str) -> None:
    if not os.path.ismount(ns_path):
        return
    with IPRoute(netns=str(ns_path)) as ipr:
        idx = link_index(ipr, ifname)
        if idx is not None:
            with contextlib.suppress(NetlinkError):
                ipr.link("del", index=idx)
