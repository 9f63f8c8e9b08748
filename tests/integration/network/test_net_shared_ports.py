"""A Compose service's containers sharing a published port (engine.network.traffic): same project and service
labels may publish one fixed host port together, new connections go to the ready members (running, healthy
if they have a healthcheck), another service is refused the port as dockerd refuses it, and when no member
is ready every member gets traffic, as a lone container does."""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.network.service import kernel_names
from tests.support.engine import EngineProcess, running_engine
from tests.support.registry import free_port

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def engine() -> Iterator[EngineProcess]:
    with running_engine() as eng:
        yield eng


NET = "shr_default"


def _web(
    eng: EngineProcess, port: int, answer: str, service: str = "web", healthy: bool | None = None
) -> str:
    body: dict[str, Any] = {
        "Labels": {"com.docker.compose.project": "shr", "com.docker.compose.service": service},
        "HostConfig": {
            "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]},
            "Init": True,
            "NetworkMode": NET,
        },
        "NetworkingConfig": {"EndpointsConfig": {NET: {"Aliases": [service]}}},
    }
    if healthy is not None:
        body["Healthcheck"] = {"Test": ["CMD", "true" if healthy else "false"], "Interval": 200_000_000}
    script = f"mkdir -p /www && echo {answer} > /www/index.html && exec httpd -f -p 80 -h /www"
    return eng.run(["sh", "-c", script], **body)


def _answers(port: int, n: int = 24) -> Counter[str]:
    seen: Counter[str] = Counter()
    for _ in range(n):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
            seen[resp.read().decode().strip()] += 1
    return seen


def _wait(check: Any, what: str, timeout: float = 60.0) -> None:
    """Poll `check` until true; a refused connection is "not yet" (a member without a healthcheck is in
    rotation once running, before its server listens)."""
    deadline = time.monotonic() + timeout
    last: OSError | None = None
    while True:
        try:
            if check():
                return
        except OSError as e:
            last = e
        assert time.monotonic() < deadline, f"timed out waiting for {what} (last error: {last})"
        time.sleep(0.1)


def _ip(eng: EngineProcess, cid: str) -> str:
    return str(eng.json("GET", f"/containers/{cid}/json")["NetworkSettings"]["Networks"][NET]["IPAddress"])


def _resolved(eng: EngineProcess, client: str) -> set[str]:
    """The addresses the embedded DNS gives a member of the network for the service name."""
    eid = eng.json(
        "POST", f"/containers/{client}/exec", {"Cmd": ["nslookup", "web"], "AttachStdout": True, "Tty": True}
    )["Id"]
    out = eng.request("POST", f"/exec/{eid}/start", {"Detach": False, "Tty": True}).body.decode()
    lines = out.split("Name:", 1)[-1].splitlines()
    return {line.split()[-1] for line in lines if line.strip().startswith("Address")}


def test_members_share_the_port_by_readiness(engine: EngineProcess) -> None:
    engine.json("POST", "/networks/create", {"Name": NET})
    client = engine.run(["sleep", "300"], HostConfig={"NetworkMode": NET, "Init": True})
    port = free_port()
    one = _web(engine, port, "one")
    two = _web(engine, port, "two")
    _wait(lambda: set(_answers(port)) == {"one", "two"}, "both members to answer")

    # another service cannot take the port, as with dockerd
    other = engine.json(
        "POST",
        "/containers/create",
        {
            "Image": "busybox",
            "Cmd": ["sleep", "10"],
            "Labels": {"com.docker.compose.project": "shr", "com.docker.compose.service": "other"},
            "HostConfig": {
                "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]},
                "NetworkMode": NET,
            },
        },
    )["Id"]
    refused = engine.request("POST", f"/containers/{other}/start")
    assert refused.status >= 400 and f"127.0.0.1:{port}" in refused.message, refused.message

    # a member that is not healthy gets nothing while others are ready
    sick = _web(engine, port, "sick", healthy=False)
    _wait(
        lambda: engine.json("GET", f"/containers/{sick}/json")["State"]["Health"]["Status"] == "unhealthy",
        "sick",
    )
    assert set(_answers(port, 40)) == {"one", "two"}
    fine = _web(engine, port, "fine", healthy=True)
    _wait(lambda: "fine" in _answers(port), "the healthy new member to get traffic")
    assert _resolved(engine, client) == {_ip(engine, one), _ip(engine, two), _ip(engine, fine)}

    # stopping members hands the port on; the socket that held it passes to a remaining member
    for cid in (one, two, fine):
        assert engine.request("POST", f"/containers/{cid}/stop?t=2").status == 204
    # only the unhealthy member is left: no one is ready, so it serves, as a lone container would
    assert set(_answers(port)) == {"sick"}
    assert _resolved(engine, client) == {_ip(engine, sick)}
    assert engine.request("POST", f"/containers/{sick}/stop?t=2").status == 204
    with pytest.raises(OSError):
        _answers(port, 1)
    engine.remove_all_containers()
    engine.request("DELETE", f"/networks/{NET}")


def _table(eng: EngineProcess) -> str:
    table = kernel_names(eng.data_root)[1]
    return subprocess.run(["nft", "-a", "list", "table", "ip", table], capture_output=True, text=True).stdout


def _chains(listing: str) -> dict[str, str]:
    """chain name -> its kernel handle."""
    return dict(re.findall(r"chain (\w+) \{ # handle (\d+)", listing))


def test_rotation_changes_swap_rules_in_place(engine: EngineProcess) -> None:
    """A member joining or leaving the rotation changes the rules only: the table's chains stay registered
    (same handles), and the spread uses no set, so a connection begun during the load is NATed by the old
    rules or the new ones, never by neither (issue 19: such a SYN reached the host and was refused)."""
    engine.json("POST", "/networks/create", {"Name": NET})
    port = free_port()
    one = _web(engine, port, "one")
    _wait(lambda: set(_answers(port, 1)) == {"one"}, "the first member")
    before = _table(engine)
    assert before.count(f"dport {port} ") == 1, before
    two = _web(engine, port, "two")
    _wait(lambda: set(_answers(port)) == {"one", "two"}, "both members to answer")
    both = _table(engine)
    assert both.count(f"dport {port} ") == 2 and "numgen inc mod 2" in both, both
    assert " map " not in both and "set " not in both, both
    assert _chains(both) == _chains(before) and len(_chains(before)) >= 5, (before, both)
    assert engine.request("POST", f"/containers/{one}/stop?t=2").status == 204
    assert set(_answers(port)) == {"two"}
    after = _table(engine)
    assert after.count(f"dport {port} ") == 1 and _chains(after) == _chains(before), after
    assert engine.request("POST", f"/containers/{two}/stop?t=2").status == 204
    engine.remove_all_containers()
    engine.request("DELETE", f"/networks/{NET}")


def _dnat_target(port: int, sport: int) -> str:
    """The container address the kernel sent our connection from local port `sport` to."""
    for line in Path("/proc/net/nf_conntrack").read_text().splitlines():
        if f" sport={sport} dport={port} " in line:
            return line.split("src=")[2].split()[0]
    raise AssertionError(f"no tracked connection from port {sport}")


def test_stop_drains_a_request_in_flight(engine: EngineProcess) -> None:
    """A member being stopped while another is ready leaves the rotation, then is signalled only once its
    connections through the published port are done: a request slower than the first half second of the
    drain is still answered (it was reset before)."""
    engine.json("POST", "/networks/create", {"Name": NET})
    port = free_port()
    members = {"one": _web(engine, port, "one"), "two": _web(engine, port, "two")}
    _wait(lambda: set(_answers(port)) == {"one", "two"}, "both members to answer")
    slow = socket.create_connection(("127.0.0.1", port), timeout=30)
    ip = _dnat_target(port, slow.getsockname()[1])
    mine = next(name for name, cid in members.items() if _ip(engine, cid) == ip)
    other = next(name for name in members if name != mine)
    stop: dict[str, Any] = {}

    def stopping() -> None:
        stop["status"] = engine.request("POST", f"/containers/{members[mine]}/stop?t=2", timeout=60).status

    thread = threading.Thread(target=stopping)
    thread.start()
    _wait(lambda: set(_answers(port, 4)) == {other}, "the stopping member to leave the rotation")
    time.sleep(1.0)  # the request comes late: longer than the drain's first half second
    assert "status" not in stop  # still draining: our connection is open
    slow.sendall(b"GET / HTTP/1.0\r\n\r\n")
    answer = b""
    while chunk := slow.recv(4096):
        answer += chunk
    slow.close()
    assert answer.startswith(b"HTTP/1.") and b" 200 " in answer.split(b"\r\n")[0], answer
    assert answer.rstrip().endswith(mine.encode()), answer
    thread.join(60)
    assert stop.get("status") == 204, stop
    engine.remove_all_containers()
    engine.request("DELETE", f"/networks/{NET}")
