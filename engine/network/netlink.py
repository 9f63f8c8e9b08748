"""Kernel objects through netlink (engine.network.rtnl): bridges, veth pairs, addresses, routes, network
namespaces.

Every function is idempotent where it can be (deleting what is already gone is success), so cleanup and
the start-up reconcile can call them blindly. Calls are short blocking syscalls, safe on any thread.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from engine.errors import Conflict, SystemError_
from engine.kernel.syscalls import LinuxSyscalls
from engine.network.rtnl import Rtnl, RtnlError

log = logging.getLogger(__name__)

T = TypeVar("T")


def _fail(what: str, e: RtnlError) -> SystemError_:
    return SystemError_(f"{what}: {e.strerror}")


def link_exists(name: str) -> bool:
    with Rtnl() as nl:
        return nl.link_index(name) is not None


def ensure_bridge(
    name: str, gateway: str, prefixlen: int, mtu: int = 0, gateway6: str = "", prefixlen6: int = 0
) -> None:
    """Create (or adopt) bridge `name` with the gateway address (and an IPv6 one), up."""
    with Rtnl() as nl:
        idx = nl.link_index(name)
        if idx is None:
            try:
                nl.add_bridge(name)
            except RtnlError as e:
                if e.errno != errno.EEXIST:  # made meanwhile by another engine thread: adopt it
                    raise _fail(f"failed to create bridge {name}", e) from None
            idx = nl.link_index(name)
            if idx is None:
                raise SystemError_(f"failed to create bridge {name}: it vanished")
        if gateway and gateway not in {a.address for a in nl.addrs(idx)}:
            try:
                nl.add_addr(idx, gateway, prefixlen)
            except RtnlError as e:
                if e.errno != errno.EEXIST:
                    raise _fail(f"failed to set address on {name}", e) from None
        if gateway6 and gateway6 not in {a.address for a in nl.addrs(idx, socket.AF_INET6)}:
            try:
                nl.add_addr(idx, gateway6, prefixlen6)
            except RtnlError as e:
                if e.errno != errno.EEXIST:
                    raise _fail(f"failed to set the IPv6 address on {name}", e) from None
        try:
            nl.set_link(idx, up=True, mtu=mtu)
        except RtnlError as e:
            raise _fail(f"failed to bring up bridge {name}", e) from None


def delete_link(name: str) -> None:
    with Rtnl() as nl:
        idx = nl.link_index(name)
        if idx is None:
            return
        try:
            nl.del_link(idx)
        except RtnlError as e:
            if e.errno not in (errno.ENOENT, errno.ENODEV):
                raise _fail(f"failed to delete {name}", e) from None


def list_links(prefix: str) -> list[str]:
    with Rtnl() as nl:
        return [link.name for link in nl.links() if link.name.startswith(prefix)]


def host_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 route destination and interface network of the host: subnets we must never reuse."""
    with Rtnl() as nl:
        out = nl.route_destinations()
        for a in nl.addrs():
            out.append(ipaddress.IPv4Network(f"{a.address}/{a.prefixlen}", strict=False))
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
# in a forked child: a child of the threaded asyncio daemon inherits the loop's signal wakeup fd (and runs
# Python in a damaged copy of the process).

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


def write_sysctls(ns_path: Path, values: Mapping[str, str]) -> None:
    """Set net.* parameters of the network namespace at ns_path, never the host's: a thread enters it and
    writes its /proc/sys/net (which shows the namespace of the task that opens it)."""

    def work() -> None:
        sc = LinuxSyscalls()
        host = os.stat("/proc/thread-self/ns/net")
        sc.setns(str(ns_path), CLONE_NEWNET)
        mine = os.stat("/proc/thread-self/ns/net")
        if (mine.st_dev, mine.st_ino) == (host.st_dev, host.st_ino):
            raise SystemError_(f"{ns_path} is the host's network namespace: its sysctls are not set")
        for key, value in values.items():
            path = "/proc/sys/" + key.replace(".", "/")
            try:
                with open(path, "w") as f:
                    f.write(value)
            except OSError as e:
                raise SystemError_(f"open {path}: {(e.strerror or str(e)).lower()}") from None

    _in_thread(work)


def remove_netns(path: Path) -> None:
    if os.path.ismount(path):
        with contextlib.suppress(OSError):
            LinuxSyscalls().umount(str(path), MNT_DETACH)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


@dataclass(frozen=True)
class VethSpec:
    """One endpoint's kernel side: host veth `host` on `bridge`, its peer `ifname` in the namespace."""

    host: str
    bridge: str
    ifname: str
    ip: str
    prefixlen: int
    mac: str
    gateway: str | None  # the default route's gateway (None: no default route through this endpoint)
    mtu: int = 0
    ip6: str = ""  # an IPv6 network's address (with prefixlen6), and the IPv6 default route's gateway
    prefixlen6: int = 0
    gateway6: str | None = None


def plumb(
    ns_path: Path, specs: Sequence[VethSpec], create: bool, inside: Callable[[], T] | None = None
) -> T | None:
    """Make (create=True) or enter the namespace at ns_path and give it the veth pairs of `specs`, all in
    one short-lived thread: the host side is made, enslaved, sized and up in one netlink request with its
    peer born inside the namespace under its final name and MAC (no rename, no lookup of a temporary
    name); then addresses, links and routes inside. `inside()` runs last, in the namespace (the embedded
    DNS binds its sockets there), and its result is returned. On failure a namespace made here is gone."""
    if create:
        path_ready(ns_path)

    def work() -> T | None:
        sc = LinuxSyscalls()
        host_fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            if create:
                sc.unshare(CLONE_NEWNET)  # this thread only
                sc.mount(
                    f"/proc/self/task/{threading.get_native_id()}/ns/net", str(ns_path), "none", MS_BIND, ""
                )
                sc.setns(f"/proc/self/fd/{host_fd}", CLONE_NEWNET)
            if specs:
                ns_fd = os.open(ns_path, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    with Rtnl() as nl:
                        for s in specs:
                            _host_side(nl, s, ns_fd)
                finally:
                    os.close(ns_fd)
                for s in specs:
                    set_sysctl_path(Path(f"/sys/class/net/{s.host}/brport/hairpin_mode"), "1")
            sc.setns(str(ns_path), CLONE_NEWNET)
            with Rtnl() as nl:
                if create:
                    nl.set_link(1, up=True)  # lo is always index 1 in a new namespace
                for s in specs:
                    _ns_side(nl, s)
            return inside() if inside is not None else None
        finally:
            os.close(host_fd)

    try:
        with _plumb_lock:
            return _in_thread(work)
    except BaseException:
        if create:
            remove_netns(ns_path)
        raise


# Plumbing is CPU work (ours, the kernel's under its rtnl lock), nothing that waits: concurrent
# runs only contend (20 in 4 threads took 1.7x as long as one after another), so they take turns.
_plumb_lock = threading.Lock()


def path_ready(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def _host_side(nl: Rtnl, s: VethSpec, ns_fd: int) -> None:
    br = nl.link_index(s.bridge)
    if br is None:
        raise SystemError_(f"bridge {s.bridge} is missing")
    try:
        nl.add_veth(s.host, master=br, mtu=s.mtu, peer=s.ifname, peer_ns_fd=ns_fd, peer_mac=s.mac)
    except RtnlError as e:
        if e.errno == errno.EEXIST:
            raise Conflict(f"interface {s.host} already exists") from None
        raise _fail("failed to create veth pair", e) from None


def _ns_side(nl: Rtnl, s: VethSpec) -> None:
    """Address, link and routes inside the namespace. The container's routes (its subnets', its default
    routes) carry the quickack metric: TCP in the container acknowledges what it receives at once instead
    of after the delayed-ACK wait or its process's next read. A sender with a small congestion window
    (BBR, this host's default, sizes it from the microsecond RTT of a bridge) otherwise stalls until the
    receiving process is scheduled: 1 GiB to a published port took 0.24 s with delayed ACKs and 0.14 s
    without (bench/network_throughput.py), for one more pure ACK per received segment."""
    idx = nl.link_index(s.ifname)
    if idx is None:
        raise SystemError_(f"veth peer {s.ifname} missing")
    try:
        nl.add_addr(idx, s.ip, s.prefixlen)
        if s.ip6:
            nl.add_addr(idx, s.ip6, s.prefixlen6)
        nl.set_link(idx, up=True)
        if s.prefixlen < 32:  # a /32 has no subnet route
            nl.replace_subnet_route(s.ip, s.prefixlen, idx, quickack=True)
        if s.ip6 and s.prefixlen6 < 128:
            nl.replace_subnet_route(s.ip6, s.prefixlen6, idx, quickack=True)
    except RtnlError as e:
        raise _fail(f"failed to configure {s.ifname}", e) from None
    for gateway in (s.gateway, s.gateway6):
        if not gateway:
            continue
        try:
            nl.add_default_route(gateway, idx, quickack=True)
        except RtnlError as e:
            if e.errno != errno.EEXIST:
                raise _fail("failed to set the default route", e) from None
