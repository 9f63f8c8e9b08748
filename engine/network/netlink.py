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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from engine.errors import Conflict, SystemError_
from engine.runtime.syscalls import LinuxSyscalls

log = logging.getLogger(__name__)

T = TypeVar("T")


_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _workers() -> concurrent.futures.ThreadPoolExecutor:
    # one shared pool: a fresh executor per call cost a thread start and join per netlink operation
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="netlink")
        return _pool


def off_loop(fn: Callable[..., T]) -> Callable[..., T]:
    """pyroute2's synchronous IPRoute drives an asyncio loop of its own, which cannot run in a thread that
    already runs one (the daemon's): there, the call is made in a short-lived worker thread instead."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return fn(*args, **kwargs)
        return _workers().submit(fn, *args, **kwargs).result()

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
                with IPRoute() as ipr:
                    for s in specs:
                        _host_side(ipr, s, ns_path)
                for s in specs:
                    set_sysctl_path(Path(f"/sys/class/net/{s.host}/brport/hairpin_mode"), "1")
            sc.setns(str(ns_path), CLONE_NEWNET)
            with IPRoute() as ipr:
                if create:
                    ipr.link("set", index=1, state="up")  # lo is always index 1 in a new namespace
                for s in specs:
                    _ns_side(ipr, s)
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


# Plumbing is CPU work (ours, pyroute2's, the kernel's under its rtnl lock), nothing that waits: concurrent
# runs only contend (20 in 4 threads took 1.7x as long as one after another), so they take turns.
_plumb_lock = threading.Lock()


def path_ready(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def _host_side(ipr: IPRoute, s: VethSpec, ns_path: Path) -> None:
    br = link_index(ipr, s.bridge)
    if br is None:
        raise SystemError_(f"bridge {s.bridge} is missing")
    mtu = {"mtu": s.mtu} if s.mtu else {}
    peer: dict[str, Any] = {"ifname": s.ifname, "net_ns_fd": str(ns_path), **mtu}
    if s.mac:
        peer["address"] = s.mac
    try:
        ipr.link("add", ifname=s.host, kind="veth", master=br, state="up", peer=peer, **mtu)
    except NetlinkError as e:
        if e.code == EEXIST:
            raise Conflict(f"interface {s.host} already exists") from None
        raise _fail("failed to create veth pair", e) from None


def _ns_side(ipr: IPRoute, s: VethSpec) -> None:
    idx = link_index(ipr, s.ifname)
    if idx is None:
        raise SystemError_(f"veth peer {s.ifname} missing")
    ipr.addr("add", index=idx, address=s.ip, prefixlen=s.prefixlen)
    ipr.link("set", index=idx, state="up")
    if s.gateway:
        try:
            ipr.route("add", dst="0.0.0.0/0", gateway=s.gateway, oif=idx)
        except NetlinkError as e:
            if e.code != EEXIST:
                raise _fail("failed to set the default route", e) from None
