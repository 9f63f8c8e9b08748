"""HostConfig reaches the container: limits, capabilities, read-only rootfs, sysctls, ulimits, users,
network modes, init, TTY resize, and `logs --follow` across json-file rotation."""

from __future__ import annotations

import os
import socket
import struct

import pytest

from tests.support.engine import EngineProcess

pytestmark = pytest.mark.root


def _out(engine: EngineProcess, cmd: list[str], **cfg: object) -> tuple[int, str]:
    cid = engine.run(cmd, **cfg)
    code = engine.json("POST", f"/containers/{cid}/wait")["StatusCode"]
    data = engine.request("GET", f"/containers/{cid}/logs?stdout=1&stderr=1").body
    if cfg.get("Tty"):
        return code, data.decode()
    text = b""
    while data:
        size = struct.unpack(">I", data[4:8])[0]
        text += data[8 : 8 + size]
        data = data[8 + size :]
    return code, text.decode()


def test_limits_reach_the_cgroup(engine: EngineProcess) -> None:
    code, out = _out(
        engine,
        [
            "sh",
            "-c",
            "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max"
            " 2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max",
        ],
        HostConfig={"Memory": 32 << 20, "PidsLimit": 50},
    )
    assert code == 0 and out.split() == [str(32 << 20), "50"]


def test_capabilities_readonly_rootfs_user(engine: EngineProcess) -> None:
    code, out = _out(
        engine,
        ["sh", "-c", "touch /x 2>&1 || echo denied; touch /tmp/ok && echo tmp-ok"],
        HostConfig={"ReadonlyRootfs": True, "Tmpfs": {"/tmp": ""}},
    )
    assert "denied" in out and "tmp-ok" in out
    code, out = _out(
        engine,
        ["sh", "-c", "chown 1 /tmp 2>&1 && echo chowned || echo nochown"],
        HostConfig={"CapDrop": ["CHOWN"]},
    )
    assert out.strip().endswith("nochown")
    code, out = _out(engine, ["id"], User="app")
    assert out.startswith("uid=1000(app) gid=1000(app)")


def test_sysctls_ulimits_shm(engine: EngineProcess) -> None:
    code, out = _out(
        engine,
        ["sh", "-c", "cat /proc/sys/net/ipv4/ip_forward; ulimit -n; df -k /dev/shm | tail -1"],
        HostConfig={
            "Sysctls": {"net.ipv4.ip_forward": "1"},
            "Ulimits": [{"Name": "nofile", "Soft": 1234, "Hard": 1234}],
            "ShmSize": 8 << 20,
        },
    )
    lines = out.split("\n")
    assert code == 0 and lines[0] == "1" and lines[1] == "1234"
    assert lines[2].split()[1] == str(8 << 10)


def test_network_modes(engine: EngineProcess) -> None:
    _, out = _out(engine, ["sh", "-c", "ls /sys/class/net; hostname"], HostConfig={"NetworkMode": "none"})
    assert out.split()[0] == "lo" and len(out.split()) == 2
    _, out = _out(engine, ["ls", "/sys/class/net"], HostConfig={"NetworkMode": "bridge"})  # + eth0
    assert "lo" in out.split() and socket.gethostname() not in out
    _, out = _out(engine, ["hostname"], HostConfig={"NetworkMode": "host"})
    assert out.strip() == socket.gethostname()
    r = engine.request(
        "POST",
        "/containers/create",
        {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"NetworkMode": "nosuchnet"}},
    )
    assert r.status == 404 or r.status == 400
    # joining another container's network namespace
    first = engine.run(["sleep", "30"])
    ns = os.readlink(f"/proc/{engine.json('GET', f'/containers/{first}/json')['State']['Pid']}/ns/net")
    _, out = _out(engine, ["readlink", "/proc/self/ns/net"], HostConfig={"NetworkMode": f"container:{first}"})
    assert out.strip() == ns


def test_init_reaps_and_forwards(engine: EngineProcess) -> None:
    code, out = _out(engine, ["sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '"], HostConfig={"Init": True})
    assert code == 0 and out.startswith("/sbin/docker-init -- sh")


def test_tty_resize(engine: EngineProcess) -> None:
    # the shell looks until the new size shows (bounded: it prints the old size after 60 s), not once
    # after a time a slow machine could overrun before the resize arrives
    script = (
        'i=0; while [ "$(stty size)" != "33 101" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; '
        "stty size"
    )
    cid = engine.run(["sh", "-c", script], Tty=True, OpenStdin=True)
    assert engine.request("POST", f"/containers/{cid}/resize?h=33&w=101").status == 200
    engine.json("POST", f"/containers/{cid}/wait")
    assert "33 101" in engine.request("GET", f"/containers/{cid}/logs?stdout=1").body.decode()
    stopped = engine.json("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"]})["Id"]
    assert engine.request("POST", f"/containers/{stopped}/resize?h=1&w=1").status == 409


def test_logs_follow_across_rotation(engine: EngineProcess) -> None:
    script = (
        "i=0; while [ $i -lt 60 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); sleep 0.01; done"
    )
    cid = engine.run(
        ["sh", "-c", script],
        HostConfig={"LogConfig": {"Type": "json-file", "Config": {"max-size": "1k", "max-file": "5"}}},
    )
    body = engine.request("GET", f"/containers/{cid}/logs?stdout=1&follow=1", timeout=60).body
    lines = []
    while body:
        size = struct.unpack(">I", body[4:8])[0]
        lines.append(body[8 : 8 + size].decode().split("-")[1])
        body = body[8 + size :]
    log_path = engine.json("GET", f"/containers/{cid}/json")["LogPath"]
    assert os.path.exists(log_path + ".1")  # it did rotate
    # everything still on disk arrives, in order, without duplicates (the oldest files may be gone)
    assert lines == [str(i) for i in range(int(lines[0]), 60)]
    assert int(lines[0]) < 40


def test_runc_runtime_per_container(engine: EngineProcess) -> None:
    code, out = _out(engine, ["sh", "-c", "echo via runc"], HostConfig={"Runtime": "runc"})
    assert code == 0 and out == "via runc\n"
    r = engine.request(
        "POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"Runtime": "nope"}}
    )
    assert r.status == 400 and "unknown runtime" in r.message
