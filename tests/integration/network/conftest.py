"""Fixtures for the networking integration tests: a NetworkService on private state dirs, served by an event
loop in a thread (for the embedded DNS), and a sweep of every kernel object it made, even after a failure."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.network import firewall, netlink
from engine.network.service import NetworkService

pytestmark = pytest.mark.root


class Loop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def sweep(svc: NetworkService) -> None:
    """Remove whatever the service may have left: veths, bridges, namespaces, the nft table."""
    for cid in list(svc._live):
        with contextlib.suppress(Exception):
            svc.detach(cid)
    svc.reaper.flush()
    for name in svc.store.doomed_bridges() if svc.store.doomed_dir.is_dir() else []:
        netlink.delete_link(name)
    for veth in netlink.list_links(svc.veth_prefix):
        netlink.delete_link(veth)
    for n in svc._nets.values():
        if n.bridge:
            netlink.delete_link(n.bridge)
    if svc.store.netns_dir.is_dir():
        for p in svc.store.netns_dir.iterdir():
            netlink.remove_netns(p)
    firewall.remove(svc.table)


def veths_left(prefix: str, keep: int = 0, timeout: float = 30.0) -> list[str]:
    """Host veths named `prefix*` once at most `keep` remain (or the timeout passed): an ended container's
    veth pair is deleted by the kernel with its namespace, or by the reaper, shortly after the detach."""
    deadline = time.monotonic() + timeout
    while True:
        left = netlink.list_links(prefix)
        if len(left) <= keep or time.monotonic() > deadline:
            return left
        time.sleep(0.02)


def link_gone(name: str, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while netlink.link_exists(name):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def roots() -> Iterator[tuple[Path, Path]]:
    base = Path(tempfile.mkdtemp(prefix="cnet-"))
    try:
        yield base / "data", base / "exec"
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def make_service(roots: tuple[Path, Path]) -> Iterator[object]:
    """make_service(resolv_conf=...) -> a NetworkService bound to a running loop; all are swept at the end."""
    made: list[tuple[NetworkService, Loop]] = []

    def make(resolv_conf: Path | None = None) -> NetworkService:
        kwargs = {"resolv_conf": resolv_conf} if resolv_conf else {}
        svc = NetworkService(roots[0], roots[1], **kwargs)  # type: ignore[arg-type]
        loop = Loop()
        svc.dns.bind_loop(loop.loop)
        made.append((svc, loop))
        return svc

    try:
        yield make
    finally:
        for svc, loop in reversed(made):
            sweep(svc)
            loop.stop()


@pytest.fixture
def service(make_service: object) -> NetworkService:
    return make_service()  # type: ignore[operator,no-any-return]


def in_netns(
    ns: str, *argv: str, timeout: float = 60, check: bool = True
) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(["nsenter", f"--net={ns}", *argv], capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"{argv} failed: {res.stdout} {res.stderr}")
    return res


@pytest.fixture
def netns_server() -> Iterator[object]:
    """netns_server(ns, port, reply) -> a TCP server in the namespace answering `reply` to each client."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(ns: str, port: int, reply: str) -> None:
        code = (
            "import socket,sys\n"
            "s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
            f"s.bind(('0.0.0.0',{port}));s.listen(16);print('ready',flush=True)\n"
            "while True:\n"
            " c,_=s.accept();c.sendall(%r);c.close()\n" % reply.encode()
        )
        p = subprocess.Popen(["nsenter", f"--net={ns}", "python3", "-c", code], stdout=subprocess.PIPE)
        procs.append(p)
        assert p.stdout is not None and p.stdout.readline().strip() == b"ready"

    try:
        yield start
    finally:
        for p in procs:
            p.kill()
            p.wait()
            if p.stdout is not None:
                p.stdout.close()
