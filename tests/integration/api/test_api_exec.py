"""Exec (hijacked start, detach, inspect) and healthchecks, which run through exec."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from urllib.parse import quote

import pytest

from tests.support.engine import EngineProcess

pytestmark = pytest.mark.root


def demux(data: bytes) -> list[tuple[int, bytes]]:
    out = []
    while data:
        stream, size = struct.unpack(">BxxxI", data[:8])
        out.append((stream, data[8 : 8 + size]))
        data = data[8 + size :]
    return out


def _exec_start(
    engine: EngineProcess, eid: str, stdin: bytes | None = None, upgrade: bool = True, tty: bool = False
) -> bytes:
    body = json.dumps({"Detach": False, "Tty": tty}).encode()  # the start's Tty decides the framing
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(engine.socket_path))
    s.settimeout(10)
    with s:
        upgrade_headers = "Connection: Upgrade\r\nUpgrade: tcp\r\n" if upgrade else ""
        s.sendall(
            (
                f"POST /v1.47/exec/{eid}/start HTTP/1.1\r\nHost: x\r\n{upgrade_headers}"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(4096)
        head, _, data = buf.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101" if upgrade else b"HTTP/1.1 200"), head
        assert b"chunked" not in head.lower()
        if stdin is not None:
            s.sendall(stdin)
            s.shutdown(socket.SHUT_WR)
        while chunk := s.recv(65536):
            data += chunk
    return data


def test_exec_create_start_inspect(engine: EngineProcess) -> None:
    cid = engine.run(["sleep", "60"], Env=["FROM_CONTAINER=1"])
    eid = engine.json(
        "POST",
        f"/containers/{cid}/exec",
        {
            "Cmd": ["sh", "-c", "echo $FROM_CONTAINER $X; pwd; id -u; echo oops >&2; exit 3"],
            "Env": ["X=2"],
            "WorkingDir": "/tmp",
            "User": "1000",
            "AttachStdout": True,
            "AttachStderr": True,
        },
    )["Id"]
    ins = engine.json("GET", f"/exec/{eid}/json")
    assert ins["Running"] is False and ins["ExitCode"] is None and ins["ContainerID"] == cid
    assert ins["ProcessConfig"]["entrypoint"] == "sh"
    frames = demux(_exec_start(engine, eid))
    assert b"".join(f[1] for f in frames if f[0] == 1) == b"1 2\n/tmp\n1000\n"
    assert b"".join(f[1] for f in frames if f[0] == 2) == b"oops\n"
    deadline = time.monotonic() + 5
    while (ins := engine.json("GET", f"/exec/{eid}/json"))["Running"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert ins["ExitCode"] == 3
    r = engine.request("POST", f"/exec/{eid}/start", {"Detach": False})
    assert r.status == 409
    assert engine.json("GET", f"/containers/{cid}/json")["ExecIDs"] == [eid]


def test_exec_stdin_and_non_upgraded_start(engine: EngineProcess) -> None:
    cid = engine.run(["sleep", "60"])
    eid = engine.json(
        "POST", f"/containers/{cid}/exec", {"Cmd": ["cat"], "AttachStdin": True, "AttachStdout": True}
    )["Id"]
    assert demux(_exec_start(engine, eid, stdin=b"through stdin\n")) == [(1, b"through stdin\n")]
    eid = engine.json("POST", f"/containers/{cid}/exec", {"Cmd": ["echo", "plain"], "AttachStdout": True})[
        "Id"
    ]
    assert demux(_exec_start(engine, eid, upgrade=False)) == [(1, b"plain\n")]


def test_exec_detach_and_errors(engine: EngineProcess) -> None:
    cid = engine.run(["sleep", "60"])
    eid = engine.json("POST", f"/containers/{cid}/exec", {"Cmd": ["touch", "/tmp/detached"]})["Id"]
    r = engine.request("POST", f"/exec/{eid}/start", {"Detach": True})
    assert r.status == 200
    deadline = time.monotonic() + 5
    while engine.request("HEAD", f"/containers/{cid}/archive?path=/tmp/detached").status != 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert engine.request("GET", "/exec/nope/json").status == 404
    assert engine.request("POST", f"/containers/{cid}/exec", {"Cmd": []}).status == 400
    stopped = engine.json("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"]})["Id"]
    assert engine.request("POST", f"/containers/{stopped}/exec", {"Cmd": ["true"]}).status == 409


def test_healthcheck_transitions_and_events(engine: EngineProcess) -> None:
    since = time.time()
    ms = 1_000_000
    cid = engine.run(
        ["sleep", "60"],
        Healthcheck={
            "Test": ["CMD-SHELL", "cat /tmp/ok"],
            "Interval": 300 * ms,
            "Timeout": 2000 * ms,
            "Retries": 2,
        },
    )
    # the first probe runs at once and fails: still "starting" until Retries failures, then unhealthy
    deadline = time.monotonic() + 10
    while (h := engine.json("GET", f"/containers/{cid}/json")["State"]["Health"])["Status"] != "unhealthy":
        assert time.monotonic() < deadline, h
        time.sleep(0.05)
    assert h["FailingStreak"] >= 2 and h["Log"][-1]["ExitCode"] == 1
    assert "No such file" in h["Log"][-1]["Output"]
    eid = engine.json("POST", f"/containers/{cid}/exec", {"Cmd": ["sh", "-c", "echo fine > /tmp/ok"]})["Id"]
    engine.request("POST", f"/exec/{eid}/start", {"Detach": True})
    while (h := engine.json("GET", f"/containers/{cid}/json")["State"]["Health"])["Status"] != "healthy":
        assert time.monotonic() < deadline, h
        time.sleep(0.05)
    assert h["FailingStreak"] == 0 and h["Log"][-1]["Output"] == "fine\n" and len(h["Log"]) <= 5
    summary = engine.json("GET", "/containers/json?filters=" + quote(json.dumps({"health": ["healthy"]})))
    assert [c["Id"] for c in summary] == [cid] and summary[0]["Status"].endswith("(healthy)")
    r = engine.request(
        "GET",
        f"/events?since={since}&until={time.time()}&filters=" + quote(json.dumps({"container": [cid]})),
        timeout=10,
    )
    actions = [json.loads(x)["Action"] for x in r.body.splitlines() if x.strip()]
    assert "health_status: unhealthy" in actions and "health_status: healthy" in actions
    assert any(a.startswith("exec_create: sh -c") for a in actions)


def test_healthcheck_start_period_does_not_count_failures(engine: EngineProcess) -> None:
    ms = 1_000_000
    cid = engine.run(
        ["sleep", "60"],
        Healthcheck={
            "Test": ["CMD", "false"],
            "Interval": 200 * ms,
            "Retries": 1,
            "StartPeriod": 60000 * ms,
            "StartInterval": 100 * ms,
        },
    )
    deadline = time.monotonic() + 30
    while len((h := engine.json("GET", f"/containers/{cid}/json")["State"]["Health"])["Log"]) < 3:
        assert time.monotonic() < deadline, h
        time.sleep(0.05)
    assert h["Status"] == "starting" and h["FailingStreak"] == 0


def test_wait_and_exec_while_another_client_waits(engine: EngineProcess) -> None:
    cid = engine.run(["sh", "-c", "sleep 0.5; exit 6"])
    out: dict = {}
    t = threading.Thread(target=lambda: out.update(r=engine.json("POST", f"/containers/{cid}/wait")))
    t.start()
    eid = engine.json("POST", f"/containers/{cid}/exec", {"Cmd": ["echo", "side"], "AttachStdout": True})[
        "Id"
    ]
    assert demux(_exec_start(engine, eid)) == [(1, b"side\n")]
    t.join(10)
    assert out["r"]["StatusCode"] == 6


def test_privileged_exec_gets_every_capability(engine: EngineProcess) -> None:
    cid = engine.run(["sleep", "60"], HostConfig={"CapDrop": ["NET_RAW"]})

    def cap_eff(privileged: bool) -> int:
        eid = engine.json(
            "POST",
            f"/containers/{cid}/exec",
            {
                "Cmd": ["sh", "-c", "grep CapEff /proc/self/status"],
                "AttachStdout": True,
                "Privileged": privileged,
            },
        )["Id"]
        out = b"".join(f[1] for f in demux(_exec_start(engine, eid)))
        return int(out.split()[1], 16)

    plain, full = cap_eff(False), cap_eff(True)
    assert not plain & (1 << 13)  # CAP_NET_RAW dropped for the container and its plain execs
    assert full & (1 << 13) and full & (1 << 21)  # NET_RAW and SYS_ADMIN


def test_exec_tty_and_resize(engine: EngineProcess) -> None:
    cid = engine.run(["sleep", "60"])
    eid = engine.json(
        "POST",
        f"/containers/{cid}/exec",
        {
            "Cmd": ["sh", "-c", "sleep 0.6; stty size"],
            "Tty": True,
            "AttachStdout": True,
            "AttachStdin": True,
        },
    )["Id"]
    out: dict = {}
    t = threading.Thread(target=lambda: out.update(data=_exec_start(engine, eid, tty=True)))
    t.start()
    deadline = time.monotonic() + 5
    while engine.request("POST", f"/exec/{eid}/resize?h=12&w=34").status != 201:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    t.join(10)
    text = out["data"].replace(b"\r\n", b"\n").decode()  # a TTY: raw bytes, no stdcopy frames
    assert text == "12 34\n"
    assert engine.request("POST", "/exec/nope/resize?h=1&w=1").status == 404


def test_detached_exec_reports_its_exit_without_being_asked(engine: EngineProcess) -> None:
    since = time.time()
    cid = engine.run(["sleep", "60"])
    eid = engine.json("POST", f"/containers/{cid}/exec", {"Cmd": ["sh", "-c", "exit 5"]})["Id"]
    assert engine.request("POST", f"/exec/{eid}/start", {"Detach": True}).status == 200
    deadline = time.monotonic() + 5
    while True:
        r = engine.request(
            "GET",
            f"/events?since={since}&until={time.time()}&filters="
            + quote(json.dumps({"event": ["exec_die"]})),
            timeout=10,
        )
        dies = [json.loads(x) for x in r.body.splitlines() if x.strip()]
        if dies:
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert (
        dies[0]["Actor"]["Attributes"]["execID"] == eid and dies[0]["Actor"]["Attributes"]["exitCode"] == "5"
    )
    assert engine.json("GET", f"/exec/{eid}/json")["ExitCode"] == 5
