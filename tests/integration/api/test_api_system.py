"""System endpoints: ping, version, info, API versions, errors, events."""

from __future__ import annotations

import json
import socket
import threading
import time
from urllib.parse import quote

import pytest

from tests.support.engine import EngineProcess
from tests.support.listeners import wait_for_listener

pytestmark = pytest.mark.root


def test_ping_get_and_head_carry_docker_headers(engine: EngineProcess) -> None:
    for method in ("GET", "HEAD"):
        r = engine.request(method, "/_ping")
        assert r.status == 200
        assert r.headers["api-version"] == "1.47"
        assert r.headers["ostype"] == "linux"
        assert r.headers["docker-experimental"] == "false"
        assert r.headers["builder-version"] == "1"
        assert r.body == (b"OK" if method == "GET" else b"")
    assert engine.request("GET", "/v1.44/_ping").body == b"OK"


def test_version_reports_api_range_and_components(engine: EngineProcess) -> None:
    v = engine.json("GET", "/v1.47/version")
    assert v["ApiVersion"] == "1.47" and v["MinAPIVersion"] == "1.24"
    assert v["Os"] == "linux" and v["KernelVersion"]
    assert v["Components"][0]["Name"] == "Engine"
    assert v["Components"][0]["Details"]["ApiVersion"] == "1.47"


def test_info_has_the_fields_the_docker_cli_prints(engine: EngineProcess) -> None:
    cid = engine.run(["sleep", "30"])
    engine.json("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"]})
    info = engine.json("GET", "/info")
    assert info["Containers"] == 2 and info["ContainersRunning"] == 1 and info["ContainersStopped"] == 1
    assert info["ContainersPaused"] == 0
    assert info["Images"] >= 1
    assert info["Driver"] == "overlay2" and info["CgroupDriver"] == "cgroupfs"
    assert info["CgroupVersion"] in ("1", "2")
    assert "name=seccomp,profile=builtin" in info["SecurityOptions"]
    assert info["DockerRootDir"] == str(engine.data_root)
    assert info["NCPU"] >= 1 and info["MemTotal"] > 0
    assert info["ID"] and info["Name"] and info["ServerVersion"] and info["KernelVersion"]
    assert info["OperatingSystem"] and info["DefaultRuntime"] in info["Runtimes"]
    engine.request("POST", f"/containers/{cid}/kill")


def test_info_counts_the_event_listeners(engine: EngineProcess) -> None:
    """NEventsListener as dockerd's: one per open GET /events, back down when the client goes."""
    before = engine.json("GET", "/info")["NEventsListener"]
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(engine.socket_path))
    s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
    s.settimeout(30)
    assert s.recv(100).startswith(b"HTTP/1.1 200")
    wait_for_listener(lambda: engine.json("GET", "/info"), before)
    assert engine.json("GET", "/info")["NEventsListener"] == before + 1
    s.close()
    deadline = time.monotonic() + 30
    while engine.json("GET", "/info")["NEventsListener"] != before:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_api_version_bounds_and_unknown_paths(engine: EngineProcess) -> None:
    r = engine.request("GET", "/v1.99/info")
    assert r.status == 400 and "too new" in r.message
    r = engine.request("GET", "/v1.12/info")
    assert r.status == 400 and "too old" in r.message
    r = engine.request("GET", "/v1.47/nothing/here")
    assert r.status == 404 and r.headers["content-type"] == "application/json" and r.message


def test_malformed_json_and_bad_parameters_are_400(engine: EngineProcess) -> None:
    r = engine.request(
        "POST", "/containers/create", b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status == 400 and "invalid JSON" in r.message
    r = engine.request("GET", "/containers/json?filters=notjson")
    assert r.status == 400 and "filter" in r.message
    r = engine.request("GET", "/containers/json?limit=abc")
    assert r.status == 400


def _read_events(
    engine: EngineProcess, query: str, out: list[dict], ready: threading.Event, duration: float
) -> None:
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(engine.socket_path))
        s.sendall(f"GET /events?{query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        s.settimeout(duration)
        buf = b""
        deadline = time.monotonic() + duration
        while b"\r\n\r\n" not in buf:
            buf += s.recv(4096)
        ready.set()
        try:
            while time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        except TimeoutError:
            pass
    body = buf.split(b"\r\n\r\n", 1)[1]
    # chunked transfer: keep only the JSON lines
    for line in body.split(b"\r\n"):
        line = line.strip()
        if line.startswith(b"{"):
            for part in line.split(b"\n"):
                if part.strip():
                    out.append(json.loads(part))


def test_events_stream_lifecycle_with_filters(engine: EngineProcess) -> None:
    events: list[dict] = []
    ready = threading.Event()
    flt = quote(json.dumps({"type": ["container"], "label": ["suite=events"]}))
    t = threading.Thread(target=_read_events, args=(engine, f"filters={flt}", events, ready, 2.0))
    t.start()
    assert ready.wait(5)
    other = engine.run(["true"])  # no label: filtered out
    cid = engine.run(["sh", "-c", "exit 3"], Labels={"suite": "events"})
    engine.json("POST", f"/containers/{cid}/wait")
    engine.json("DELETE", f"/containers/{cid}", expect=204)
    t.join()
    actions = [e["Action"] for e in events if e["id"] == cid]
    assert actions == ["create", "start", "die", "destroy"], actions
    assert all(e["Actor"]["ID"] != other for e in events)
    die = next(e for e in events if e["Action"] == "die")
    assert die["Actor"]["Attributes"]["exitCode"] == "3"
    assert die["Actor"]["Attributes"]["suite"] == "events"
    assert die["Type"] == "container" and die["timeNano"] > 0 and die["from"] == "busybox:latest"


def test_events_since_until_replays_history_and_ends(engine: EngineProcess) -> None:
    since = time.time()
    cid = engine.run(["true"])
    engine.json("POST", f"/containers/{cid}/wait")
    until = time.time() + 0.2
    r = engine.request("GET", f"/events?since={since:.9f}&until={until:.9f}", timeout=10)
    assert r.status == 200
    lines = [json.loads(x) for x in r.body.splitlines() if x.strip()]
    mine = [e["Action"] for e in lines if e.get("id") == cid]
    assert mine[:3] == ["create", "start", "die"]
    flt = quote(json.dumps({"event": ["die"], "container": [cid[:12]]}))
    r = engine.request("GET", f"/events?since={since:.9f}&until={until:.9f}&filters={flt}", timeout=10)
    assert [json.loads(x)["Action"] for x in r.body.splitlines() if x.strip()] == ["die"]


def test_every_lifecycle_step_has_an_event(engine: EngineProcess) -> None:
    since = time.time()
    cid = engine.json(
        "POST", "/containers/create?name=evs", {"Image": "busybox", "Cmd": ["sleep", "30"], "Tty": True}
    )["Id"]
    engine.json("POST", f"/containers/{cid}/start", expect=204)
    engine.json("POST", f"/containers/{cid}/pause", expect=204)
    engine.json("POST", f"/containers/{cid}/unpause", expect=204)
    engine.json("POST", f"/containers/{cid}/resize?h=10&w=20")
    engine.json("POST", f"/containers/{cid}/rename?name=evs2", expect=204)
    assert engine.request("POST", f"/containers/{cid}/attach?logs=1&stdout=1").status == 200
    eid = engine.json("POST", f"/containers/{cid}/exec", {"Cmd": ["true"]})["Id"]
    engine.request("POST", f"/exec/{eid}/start", {"Detach": True})
    time.sleep(0.3)
    engine.json("GET", f"/exec/{eid}/json")
    engine.json("POST", f"/containers/{cid}/restart?t=0", expect=204)
    engine.json("POST", f"/containers/{cid}/kill?signal=KILL", expect=204)
    engine.json("POST", f"/containers/{cid}/wait")
    engine.json("DELETE", f"/containers/{cid}", expect=204)
    r = engine.request("GET", f"/events?since={since}&until={time.time() + 0.1}", timeout=10)
    evs = [json.loads(x) for x in r.body.splitlines() if x.strip()]
    actions = [e["Action"] for e in evs if e["Actor"]["ID"] == cid]
    for want in (
        "create",
        "start",
        "pause",
        "unpause",
        "resize",
        "rename",
        "attach",
        "exec_create: true",
        "exec_start: true",
        "exec_die",
        "kill",
        "die",
        "stop",
        "restart",
        "destroy",
    ):
        assert want in actions, (want, actions)
    rename = next(e for e in evs if e["Action"] == "rename")
    assert (
        rename["Actor"]["Attributes"]["oldName"] == "/evs" and rename["Actor"]["Attributes"]["name"] == "evs2"
    )
    kill = [e for e in evs if e["Action"] == "kill"][-1]
    assert kill["Actor"]["Attributes"]["signal"] == "9"
    # the order of a stop: kill (TERM, then KILL after the timeout), die, stop; restart after the new start
    seq = [a for a in actions if a in ("kill", "die", "stop", "start", "restart")]
    assert actions.count("die") == 2 and actions.count("start") == 2  # one event per exit and per start
    assert seq[:7] == ["start", "kill", "kill", "die", "stop", "start", "restart"], seq


def test_clients_going_away_mid_stream_leave_the_daemon_well(engine: EngineProcess) -> None:
    cid = engine.run(["sh", "-c", "while :; do echo spam; sleep 0.05; done"])
    streams = [
        "GET /events HTTP/1.1",
        f"GET /containers/{cid}/logs?stdout=1&follow=1 HTTP/1.1",
        f"GET /containers/{cid}/stats HTTP/1.1",
        f"POST /containers/{cid}/attach?stream=1&stdout=1 HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp",
        f"POST /containers/{cid}/wait HTTP/1.1",
    ]
    for head in streams:
        s = socket.socket(socket.AF_UNIX)
        s.connect(str(engine.socket_path))
        s.sendall(f"{head}\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode())
        s.settimeout(5)
        assert s.recv(100).startswith(b"HTTP/1.1 ")
        s.close()
    time.sleep(0.5)
    assert engine.request("GET", "/_ping").status == 200
    assert engine.json("GET", f"/containers/{cid}/json")["State"]["Running"]
    assert "Traceback" not in engine.log()
