"""Kernel objects through netlink (pyroute2): bridges, veth pairs, addresses, routes, network namespaces.

Every function is idempotent where it can be (deleting what is already gone is success), so cleanup and
the start-up reconcile can call them blindly.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import ipaddress
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from engine.errors import Conflict, SystemError_
from engine.runtime.syscalls import LinuxSyscalls

log = logging.getLogger(__name__)

T = TypeVar("T")


def off_loop(fn: Callable[..., T]) -> Callable[..., T]:
    """pyroute2's synchronous IPRoute drives an asyncio loop of its own, which cannot run in a thread that
    already runs one (the daemon's): there, the call is made in a short-lived worker thread instead."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return fn(*args, **kwargs)
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(fn, *args, **kwargs).result()

    return wrapper


ENOENT, ENODEV, EEXIST = 2, 19, 17


def _fail(what: str, e: NetlinkError) -> SystemError_:
    return SystemError_(f"{what}: {e.args[1] if len(e.args) > 1 else e}")


def link_index(ipr: IPRoute, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return found[0] if found else None


@off_loop
def link_exists(name: str) -> bool:
    with IPRoute() as ipr:
        return link_index(ipr, name) is not None


@off_loop
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


@off_loop
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


@off_loop
def list_links(prefix: str) -> list[str]:
    with IPRoute() as ipr:
        names = [link.get("IFLA_IFNAME") for link in ipr.get_links()]
    return [n for n in names if n and n.startswith(prefix)]


@off_loop
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
    set_sysctl_path(Path("/proc/sys") / path, value)


def set_sysctl_path(p: Path, value: str) -> None:
    try:
        if p.read_text().strip() != value:
            p.write_text(value)
    except OSError as e:
        log.warning("sysctl not set key=%s error=%s", p, e)


# --- namespaces -------------------------------------------------------------------------------------
# Namespace changes happen in short-lived threads of our own (a thread has its own network namespace), never
# in a forked child: pyroute2's netns helpers fork, and a child of the threaded asyncio daemon inherits the
# loop's signal wakeup fd (and runs Python in a damaged copy of the process).

CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MNT_DETACH = 2


def _in_thread(fn: Callable[[], T]) -> T:
    box: list[Any] = []

    def run() -> None:
        try:
            box.append((True, fn()))
        except BaseException as e:  # handed to the caller's thread
            box.append((False, e))

    t = threading.Thread(target=run, name="netns")
    t.start()
    t.join()
    ok, value = box[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def in_netns(ns_path: Path, fn: Callable[[IPRoute], T]) -> T:
    """fn(ipr) with a netlink socket inside the namespace bound at ns_path."""

    def work() -> T:
        LinuxSyscalls().setns(str(ns_path), CLONE_NEWNET)
        with IPRoute() as ipr:
            return fn(ipr)

    return _in_thread(work)


def create_netns(path: Path) -> None:
    """A new network namespace kept alive by a bind mount on `path`, loopback up."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and os.path.ismount(path):
        return
    path.touch()

    def work() -> None:
        sc = LinuxSyscalls()
        sc.unshare(CLONE_NEWNET)  # this thread only
        sc.mount(f"/proc/self/task/{threading.get_native_id()}/ns/net", str(path), "none", MS_BIND, "")
        with IPRoute() as ipr:
            idx = link_index(ipr, "lo")
            if idx is not None:
                ipr.link("set", index=idx, state="up")

    try:
        _in_thread(work)
    except BaseException:
        remove_netns(path)
        raise


def remove_netns(path: Path) -> None:
    if os.path.ismount(path):
        with contextlib.suppress(OSError):
            LinuxSyscalls().umount(str(path), MNT_DETACH)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


@off_loop
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
        if mtu:
            ipr.link("set", index=idx, mtu=mtu)
        ipr.link("set", index=idx, master=br, state="up")
    # hairpin: a container reaching its own published port through the host comes back out of its own port
    set_sysctl_path(Path(f"/sys/class/net/{host_name}/brport/hairpin_mode"), "1")


def configure_peer(
    ns_path: Path, tmp: str, ifname: str, ip: str, prefixlen: int, mac: str, gateway: str | None, mtu: int = 0
) -> str:
    """Inside the namespace: rename the peer, give it its address (and default route); returns its MAC."""

    def work(ipr: IPRoute) -> str:
        idx = link_index(ipr, tmp)
        if idx is None:
            raise SystemError_(f"veth peer {tmp} missing in {ns_path}")
        ipr.link("set", index=idx, ifname=ifname)
        if mac:
            ipr.link("set", index=idx, address=mac)
        if mtu:
            ipr.link("set", index=idx, mtu=mtu)
        ipr.addr("add", index=idx, address=ip, prefixlen=prefixlen)
        ipr.link("set", index=idx, state="up")
        if gateway:
            try:
                ipr.route("add", dst="0.0.0.0/0", gateway=gateway, oif=idx)
            except NetlinkError as e:
                if e.code != EEXIST:
                    raise _fail("failed to set the default route", e) from None
        return str(ipr.get_links(idx)[0].get("IFLA_ADDRESS"))

    return in_netns(ns_path, work)


def used_ifnames(ns_path: Path) -> set[str]:
    return in_netns(ns_path, lambda ipr: {str(link.get("IFLA_IFNAME")) for link in ipr.get_links()})
