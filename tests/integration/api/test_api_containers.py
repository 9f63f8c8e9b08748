"""Container records and lifecycle over the API: create, inspect, list, start/stop/kill/pause/restart, wait,
rename, remove, auto-remove, restart policies."""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import quote

import pytest

from tests.support.engine import EngineProcess

pytestmark = pytest.mark.root


def _state(engine: EngineProcess, cid: str) -> dict:
    return engine.json("GET", f"/containers/{cid}/json")["State"]


def _wait_output(engine: EngineProcess, cid: str, text: bytes, timeout: float = 30.0) -> None:
    """Until the container's log has `text` (a shell that printed it has installed its traps)."""
    deadline = time.monotonic() + timeout
    while text not in engine.request("GET", f"/containers/{cid}/logs?stdout=1").body:
        assert time.monotonic() < deadline, f"no {text!r} in the log"
        time.sleep(0.05)


def _wait_status(engine: EngineProcess, cid: str, status: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = _state(engine, cid)
        if st["Status"] == status:
            return st
        time.sleep(0.05)
    raise AssertionError(f"container never reached {status}: {st}")


def test_create_merges_image_config_and_inspect_has_docker_shape(engine: EngineProcess) -> None:
    r = engine.json(
        "POST",
        "/containers/create?name=shape",
        {
            "Image": "busybox",
            "Cmd": ["sleep", "5"],
            "Env": ["A=1"],
            "WorkingDir": "/tmp",
            "Labels": {"k": "v"},
            "Hostname": "box",
            "StopSignal": "SIGUSR1",
            "StopTimeout": 3,
            "HostConfig": {
                "Memory": 64 << 20,
                "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2},
                "ExtraHosts": ["db:10.0.0.5"],
                "Tmpfs": {"/scratch": "size=1m"},
            },
        },
    )
    assert len(r["Id"]) == 64 and r["Warnings"] == []
    c = engine.json("GET", "/containers/shape/json")
    assert c["Id"] == r["Id"] and c["Name"] == "/shape"
    assert c["Path"] == "sleep" and c["Args"] == ["5"]
    assert c["State"]["Status"] == "created" and c["State"]["Running"] is False
    assert c["Config"]["Image"] == "busybox" and c["Image"].startswith("sha256:")
    assert "A=1" in c["Config"]["Env"] and c["Config"]["WorkingDir"] == "/tmp"
    assert c["Config"]["Labels"] == {"k": "v"} and c["Config"]["Hostname"] == "box"
    assert c["Config"]["StopSignal"] == "SIGUSR1" and c["Config"]["StopTimeout"] == 3
    hc = c["HostConfig"]
    assert hc["Memory"] == 64 << 20 and hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert hc["NetworkMode"] == "bridge" and hc["LogConfig"]["Type"] == "json-file"
    assert c["LogPath"].endswith(f"{r['Id']}-json.log") and c["RestartCount"] == 0
    assert c["Driver"] == "overlay2" and c["Mounts"] == [] and "Networks" in c["NetworkSettings"]
    assert c["HostsPath"].endswith("/hosts") and c["ResolvConfPath"].endswith("/resolv.conf")
    assert engine.json("GET", f"/containers/{r['Id'][:10]}/json")["Id"] == r["Id"]


def test_create_errors(engine: EngineProcess) -> None:
    r = engine.request("POST", "/containers/create", {"Image": "nosuchimage:1", "Cmd": ["true"]})
    assert r.status == 404 and "No such image" in r.message
    r = engine.request("POST", "/containers/create?name=bad/name", {"Image": "busybox", "Cmd": ["true"]})
    assert r.status == 400 and "Invalid container name" in r.message
    r = engine.request(
        "POST",
        "/containers/create",
        {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"RestartPolicy": {"Name": "sometimes"}}},
    )
    assert r.status == 400 and "restart policy" in r.message
    r = engine.request(
        "POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"Memory": 1024}}
    )
    assert r.status == 400 and "Minimum memory limit" in r.message
    r = engine.request(
        "POST",
        "/containers/create",
        {
            "Image": "busybox",
            "Cmd": ["true"],
            "HostConfig": {"AutoRemove": True, "RestartPolicy": {"Name": "always"}},
        },
    )
    assert r.status == 400
    engine.json("POST", "/containers/create?name=dup", {"Image": "busybox", "Cmd": ["true"]})
    r = engine.request("POST", "/containers/create?name=dup", {"Image": "busybox", "Cmd": ["true"]})
    assert r.status == 409
    assert r.message.startswith('Conflict. The container name "/dup" is already in use by container "')
    assert engine.request("GET", "/containers/nope/json").status == 404
    assert engine.request("GET", "/containers/nope/json").message == "No such container: nope"


def test_start_stop_kill_status_codes(engine: EngineProcess) -> None:
    cid = engine.run(["sleep", "60"])
    assert engine.request("POST", f"/containers/{cid}/start").status == 304
    st = _state(engine, cid)
    assert st["Running"] and st["Pid"] > 0 and st["StartedAt"] > "2000"
    t0 = time.monotonic()
    assert engine.request("POST", f"/containers/{cid}/stop?t=1").status == 204
    assert time.monotonic() - t0 < 5
    st = _state(engine, cid)
    assert (
        st["Status"] == "exited" and st["ExitCode"] == 137 and st["Pid"] == 0
    )  # sleep ignores TERM as pid 1
    assert engine.request("POST", f"/containers/{cid}/stop").status == 304
    r = engine.request("POST", f"/containers/{cid}/kill")
    assert r.status == 409 and "is not running" in r.message


def test_stop_uses_stop_signal_and_kill_sends_signal(engine: EngineProcess) -> None:
    trap = "trap 'echo got-usr1; exit 7' USR1; echo trapped; while :; do sleep 0.05; done"
    cid = engine.run(["sh", "-c", trap], StopSignal="SIGUSR1")
    _wait_output(engine, cid, b"trapped")
    assert engine.request("POST", f"/containers/{cid}/stop?t=5").status == 204
    assert _state(engine, cid)["ExitCode"] == 7
    cid2 = engine.run(["sh", "-c", "trap 'exit 9' HUP; echo trapped; while :; do sleep 0.05; done"])
    _wait_output(engine, cid2, b"trapped")
    assert engine.request("POST", f"/containers/{cid2}/kill?signal=HUP").status == 204
    assert engine.json("POST", f"/containers/{cid2}/wait")["StatusCode"] == 9
    r = engine.request("POST", f"/containers/{cid2}/kill?signal=NOPE")
    assert r.status in (400, 409)


def test_pause_unpause(engine: EngineProcess) -> None:
    cid = engine.run(["sleep", "60"])
    assert engine.request("POST", f"/containers/{cid}/pause").status == 204
    st = _state(engine, cid)
    assert st["Status"] == "paused" and st["Paused"] and st["Running"]
    assert engine.request("POST", f"/containers/{cid}/pause").status == 409
    assert engine.request("POST", f"/containers/{cid}/unpause").status == 204
    assert _state(engine, cid)["Status"] == "running"
    assert engine.request("POST", f"/containers/{cid}/unpause").status == 409


def test_restart_and_wait_conditions(engine: EngineProcess) -> None:
    cid = engine.run(["sleep", "60"])
    first = _state(engine, cid)["StartedAt"]
    assert engine.request("POST", f"/containers/{cid}/restart?t=0").status == 204
    st = _state(engine, cid)
    assert st["Running"] and st["StartedAt"] != first
    # not-running on a stopped container answers at once; next-exit waits for the coming run
    stopped = engine.json("POST", "/containers/create", {"Image": "busybox", "Cmd": ["sh", "-c", "exit 4"]})[
        "Id"
    ]
    out: dict = {}

    def waiter() -> None:
        out["r"] = engine.json("POST", f"/containers/{stopped}/wait?condition=next-exit")

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.3)
    engine.json("POST", f"/containers/{stopped}/start", expect=204)
    t.join(10)
    assert out["r"] == {"StatusCode": 4, "Error": None}
    assert engine.json("POST", f"/containers/{stopped}/wait?condition=not-running")["StatusCode"] == 4
    assert engine.request("POST", f"/containers/{stopped}/wait?condition=bogus").status == 400

    def removed_waiter() -> None:
        out["removed"] = engine.json("POST", f"/containers/{stopped}/wait?condition=removed")

    t = threading.Thread(target=removed_waiter)
    t.start()
    time.sleep(0.2)
    engine.json("DELETE", f"/containers/{stopped}", expect=204)
    t.join(10)
    assert out["removed"]["StatusCode"] == 4


def test_rename(engine: EngineProcess) -> None:
    cid = engine.json("POST", "/containers/create?name=before", {"Image": "busybox", "Cmd": ["true"]})["Id"]
    engine.json("POST", "/containers/create?name=taken", {"Image": "busybox", "Cmd": ["true"]})
    assert engine.request("POST", "/containers/before/rename?name=taken").status == 409
    assert engine.request("POST", "/containers/before/rename?name=after").status == 204
    assert engine.json("GET", "/containers/after/json")["Id"] == cid
    assert engine.request("GET", "/containers/before/json").status == 404
    # the old name is free again
    engine.json("POST", "/containers/create?name=before", {"Image": "busybox", "Cmd": ["true"]})


def test_remove_running_needs_force(engine: EngineProcess) -> None:
    cid = engine.run(["sleep", "60"])
    r = engine.request("DELETE", f"/containers/{cid}")
    assert r.status == 409 and "container is running" in r.message
    assert engine.request("DELETE", f"/containers/{cid}?force=1").status == 204
    assert engine.request("GET", f"/containers/{cid}/json").status == 404
    assert not (engine.data_root / "containers" / cid).exists()
    assert engine.request("DELETE", f"/containers/{cid}").status == 404


def test_auto_remove(engine: EngineProcess) -> None:
    cid = engine.run(["true"], HostConfig={"AutoRemove": True})
    deadline = time.monotonic() + 10
    while engine.request("GET", f"/containers/{cid}/json").status != 404:
        assert time.monotonic() < deadline, "auto-removed container still there"
        time.sleep(0.05)


def test_list_filters(engine: EngineProcess) -> None:
    a = engine.run(["sleep", "60"], Labels={"team": "a"})
    b = engine.json(
        "POST",
        "/containers/create?name=listb",
        {"Image": "busybox", "Cmd": ["sh", "-c", "exit 2"], "Labels": {"team": "b"}},
    )["Id"]
    engine.json("POST", f"/containers/{b}/start", expect=204)
    engine.json("POST", f"/containers/{b}/wait")

    def ids(query: str) -> list[str]:
        return [c["Id"] for c in engine.json("GET", f"/containers/json?{query}")]

    def flt(d: dict) -> str:
        return "filters=" + quote(json.dumps(d))

    assert ids("") == [a]
    assert ids("all=1") == [b, a]  # newest first
    assert ids("all=1&limit=1") == [b]
    assert ids(flt({"label": ["team=b"]}) + "&all=1") == [b]
    assert ids(flt({"label": ["team"]}) + "&all=1") == [b, a]
    assert ids(flt({"name": ["listb"]}) + "&all=1") == [b]
    assert ids(flt({"id": [a[:8]]})) == [a]
    assert ids(flt({"status": ["exited"]})) == [b]
    assert ids(flt({"exited": ["2"]})) == [b]
    assert ids(flt({"ancestor": ["busybox"]}) + "&all=1") == [b, a]
    summary = engine.json("GET", "/containers/json?" + flt({"id": [a]}))[0]
    assert summary["Names"][0].startswith("/") and summary["Image"] == "busybox:latest"
    assert summary["State"] == "running" and summary["Status"].startswith("Up")
    assert summary["Command"] == "sleep 60" and summary["Labels"] == {"team": "a"}
    exited = engine.json("GET", "/containers/json?" + flt({"id": [b]}) + "&all=1")[0]
    assert exited["Status"].startswith("Exited (2)")
    assert engine.request("GET", "/containers/json?" + flt({"bogus": ["x"]})).status == 400


def test_restart_policy_on_failure_counts_and_backs_off(engine: EngineProcess) -> None:
    cid = engine.run(
        ["sh", "-c", "exit 1"], HostConfig={"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3}}
    )
    deadline = time.monotonic() + 15
    while True:
        c = engine.json("GET", f"/containers/{cid}/json")
        if c["RestartCount"] == 3 and c["State"]["Status"] == "exited":
            break
        assert time.monotonic() < deadline, c["State"]
        time.sleep(0.1)
    time.sleep(0.5)
    c = engine.json("GET", f"/containers/{cid}/json")
    assert c["RestartCount"] == 3 and c["State"]["Status"] == "exited" and c["State"]["ExitCode"] == 1


def test_restart_policy_always_and_manual_stop(engine: EngineProcess) -> None:
    cid = engine.run(["sh", "-c", "sleep 0.2"], HostConfig={"RestartPolicy": {"Name": "always"}})
    deadline = time.monotonic() + 10
    while engine.json("GET", f"/containers/{cid}/json")["RestartCount"] < 2:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert engine.request("POST", f"/containers/{cid}/stop?t=1").status in (204, 304)
    time.sleep(1.0)
    c = engine.json("GET", f"/containers/{cid}/json")
    assert c["State"]["Status"] == "exited"
    count = c["RestartCount"]
    time.sleep(0.5)
    assert engine.json("GET", f"/containers/{cid}/json")["RestartCount"] == count


def test_run_rm_flow_reports_exit_code_after_removal(engine: EngineProcess) -> None:
    """docker run --rm: wait?condition=removed registered before start answers the real exit code."""
    cid = engine.json(
        "POST",
        "/containers/create",
        {"Image": "busybox", "Cmd": ["sh", "-c", "exit 3"], "HostConfig": {"AutoRemove": True}},
    )["Id"]
    out: dict = {}
    t = threading.Thread(
        target=lambda: out.update(r=engine.json("POST", f"/containers/{cid}/wait?condition=removed"))
    )
    t.start()
    time.sleep(0.2)
    engine.json("POST", f"/containers/{cid}/start", expect=204)
    t.join(10)
    assert out["r"] == {"StatusCode": 3, "Error": None}
    assert engine.request("GET", f"/containers/{cid}/json").status == 404


def test_failed_start_exit_codes_and_auto_remove(engine: EngineProcess) -> None:
    cid = engine.json("POST", "/containers/create", {"Image": "busybox", "Cmd": ["nosuchcmd"]})["Id"]
    r = engine.request("POST", f"/containers/{cid}/start")
    assert r.status == 400 and "executable file not found" in r.message
    st = engine.json("GET", f"/containers/{cid}/json")["State"]
    assert st["Status"] == "exited" and st["ExitCode"] == 127 and "not found" in st["Error"]
    cid = engine.json(
        "POST",
        "/containers/create",
        {"Image": "busybox", "Cmd": ["/etc/passwd"], "HostConfig": {"AutoRemove": True}},
    )["Id"]
    r = engine.request("POST", f"/containers/{cid}/start")
    assert r.status == 400 and "permission denied" in r.message
    assert engine.request("GET", f"/containers/{cid}/json").status == 404  # removed, as dockerd does


def test_kill_and_stop_of_a_paused_container(engine: EngineProcess) -> None:
    cid = engine.run(["sleep", "60"])
    engine.json("POST", f"/containers/{cid}/pause", expect=204)
    assert engine.request("POST", f"/containers/{cid}/kill").status == 204
    assert engine.json("POST", f"/containers/{cid}/wait")["StatusCode"] == 137
    cid = engine.run(["sleep", "60"])
    engine.json("POST", f"/containers/{cid}/pause", expect=204)
    assert engine.request("POST", f"/containers/{cid}/stop?t=1").status == 204
    assert _state(engine, cid)["Status"] == "exited"


def test_update_restart_policy_and_stopped_resources(engine: EngineProcess) -> None:
    cid = engine.run(["sleep", "60"])
    r = engine.request(
        "POST",
        f"/containers/{cid}/update",
        {"RestartPolicy": {"Name": "always"}, "Memory": 0, "BlkioWeightDevice": None},
    )
    assert r.status == 200 and r.json() == {"Warnings": []}
    # a running container's limits are written to its live cgroup
    engine.json("POST", f"/containers/{cid}/update", {"Memory": 64 << 20})
    assert engine.json("GET", f"/containers/{cid}/json")["HostConfig"]["Memory"] == 64 << 20
    engine.json("POST", f"/containers/{cid}/stop?t=0", expect=204)
    engine.json("POST", f"/containers/{cid}/update", {"Memory": 96 << 20, "RestartPolicy": {"Name": ""}})
    hc = engine.json("GET", f"/containers/{cid}/json")["HostConfig"]
    assert hc["Memory"] == 96 << 20 and hc["RestartPolicy"]["Name"] == "always"
    assert engine.request("POST", f"/containers/{cid}/update", {"Privileged": True}).status == 400


def test_kill_during_a_stop_acts_at_once(engine: EngineProcess) -> None:
    """A stop waits out its grace period holding the container; a kill meanwhile must not queue behind it."""
    cid = engine.run(["sleep", "600"])  # PID 1 with no handler ignores SIGTERM: the stop would wait 30 s
    stop_status: list[int] = []
    stopper = threading.Thread(
        target=lambda: stop_status.append(engine.request("POST", f"/containers/{cid}/stop?t=30").status))
    stopper.start()
    try:
        time.sleep(0.5)
        began = time.monotonic()
        assert engine.request("POST", f"/containers/{cid}/kill", timeout=10).status == 204
        assert time.monotonic() - began < 5
        stopper.join(10)
        assert not stopper.is_alive()
        assert stop_status == [204]
        assert _state(engine, cid)["ExitCode"] == 137
    finally:
        engine.request("POST", f"/containers/{cid}/kill")
        stopper.join(35)
