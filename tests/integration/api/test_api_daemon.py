"""The daemon process: flags and config file, the pidfile lock, clean shutdown, and recovery after kill -9."""

from __future__ import annotations

import json
import os
import stat
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.runtime.state import pid_alive
from tests.support.engine import EngineProcess, UnixHTTPConnection, new_engine

pytestmark = pytest.mark.root


@pytest.fixture
def own_engine() -> Iterator[EngineProcess]:
    """An engine this test may stop, kill and restart."""
    eng = new_engine()
    try:
        eng.start()
        eng.import_busybox()
        yield eng
    finally:
        eng.cleanup()


def _logs(eng: EngineProcess, cid: str) -> bytes:
    data = eng.request("GET", f"/containers/{cid}/logs?stdout=1&stderr=1").body
    out = b""
    while data:
        size = struct.unpack(">I", data[4:8])[0]
        out += data[8 : 8 + size]
        data = data[8 + size :]
    return out


def _daemon(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.daemon", *args], capture_output=True, text=True, timeout=30
    )


def test_bad_flags_and_config_give_one_line(tmp_path: os.PathLike[str]) -> None:
    r = _daemon("-H", "tcp://0.0.0.0:2375", "--data-root", f"{tmp_path}/d", "--exec-root", f"{tmp_path}/e")
    assert r.returncode != 0 and "only loopback addresses" in r.stderr and "Traceback" not in r.stderr
    bad = f"{tmp_path}/daemon.json"
    with open(bad, "w") as f:
        f.write('{"hosts": ["unix:///x.sock"], "nonsense": 1}')
    r = _daemon("--config-file", bad)
    assert r.returncode != 0 and "unknown option(s): nonsense" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = _daemon("--bogus")
    assert (
        r.returncode == 2
        and r.stderr.strip() == "composer-engine: unrecognized arguments: --bogus (see --help)"
    )


def test_config_file_and_socket_mode(tmp_path: os.PathLike[str]) -> None:
    eng = new_engine()
    cfg = eng.base / "daemon.json"
    cfg.write_text(
        json.dumps(
            {"debug": True, "registry-mirrors": ["http://127.0.0.1:5999"], "log-opts": {"max-size": "1m"}}
        )
    )
    eng.extra_args = ("--config-file", str(cfg))
    try:
        eng.start()
        mode = stat.S_IMODE(os.stat(eng.socket_path).st_mode)
        assert mode == 0o660
        info = eng.json("GET", "/info")
        assert info["Debug"] is True and info["RegistryConfig"]["Mirrors"] == ["http://127.0.0.1:5999"]
        assert (eng.exec_root / "engine.pid").read_text().strip() == str(eng.proc.pid)  # type: ignore[union-attr]
    finally:
        eng.cleanup()


def test_second_daemon_on_same_roots_is_refused(own_engine: EngineProcess) -> None:
    r = _daemon(
        "-H",
        f"unix://{own_engine.base}/other.sock",
        "--data-root",
        str(own_engine.data_root),
        "--exec-root",
        str(own_engine.exec_root),
    )
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [r.stderr.strip()]
    assert "another engine" in r.stderr and str(own_engine.proc.pid) in r.stderr  # type: ignore[union-attr]
    # other exec-root, same data-root: refused too
    r = _daemon(
        "-H",
        f"unix://{own_engine.base}/o2.sock",
        "--data-root",
        str(own_engine.data_root),
        "--exec-root",
        f"{own_engine.base}/exec2",
    )
    assert r.returncode == 1 and "another engine" in r.stderr
    assert own_engine.request("GET", "/_ping").status == 200


def test_sigterm_shuts_down_cleanly_and_containers_keep_running(own_engine: EngineProcess) -> None:
    cid = own_engine.run(["sleep", "60"])
    pid = own_engine.json("GET", f"/containers/{cid}/json")["State"]["Pid"]
    assert own_engine.stop() == 0
    assert not own_engine.socket_path.exists() and not (own_engine.exec_root / "engine.pid").exists()
    os.kill(pid, 0)  # still alive
    own_engine.start()
    st = own_engine.json("GET", f"/containers/{cid}/json")["State"]
    assert st["Running"] and st["Pid"] == pid


def test_kill9_recovery(own_engine: EngineProcess, tmp_path: Path) -> None:
    eng = own_engine
    ticker = eng.run(["sh", "-c", "i=0; while :; do echo tick$i; i=$((i+1)); sleep 0.1; done"])
    # the ender exits when the test says so (a file in a bind mount): surely while no daemon runs
    ender = eng.run(
        ["sh", "-c", "until [ -e /signal/go ]; do sleep 0.05; done; exit 42"],
        HostConfig={"Binds": [f"{tmp_path}:/signal"]},
    )
    restarter = eng.run(["sh", "-c", "sleep 0.5; exit 1"], HostConfig={"RestartPolicy": {"Name": "always"}})
    eng.kill9()

    def recorded_pid(cid: str) -> int:
        record = json.loads((eng.data_root / "containers" / cid / "config.v2.json").read_text())
        return int(record["State"]["Pid"])

    pid, ender_pid = recorded_pid(ticker), recorded_pid(ender)
    (tmp_path / "go").touch()
    deadline = time.monotonic() + 60
    while pid_alive(ender_pid):
        assert time.monotonic() < deadline, "the ender did not exit"
        time.sleep(0.05)
    time.sleep(1.0)  # meanwhile: ticker writes
    os.kill(pid, 0)
    eng.start()
    running = {c["Id"] for c in eng.json("GET", "/containers/json")}
    assert ticker in running
    # the exit that happened while no daemon ran is recorded with its real code
    st = eng.json("GET", f"/containers/{ender}/json")["State"]
    assert st["Status"] == "exited" and st["ExitCode"] == 42
    # the always-restart container came back
    deadline = time.monotonic() + 60
    while eng.json("GET", f"/containers/{restarter}/json")["RestartCount"] < 1:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    while len(logs := _logs(eng, ticker).split()) < 10:  # the ticker keeps writing, at its own pace
        assert time.monotonic() < deadline, logs
        time.sleep(0.1)
    assert logs[:3] == [b"tick0", b"tick1", b"tick2"]
    assert eng.request("POST", f"/containers/{ticker}/stop?t=1").status == 204
    st = eng.json("GET", f"/containers/{ticker}/json")["State"]
    assert st["Status"] == "exited" and st["ExitCode"] == 137
    eng.request("POST", f"/containers/{restarter}/stop?t=0")


def test_kill9_between_runtime_start_and_record_update(own_engine: EngineProcess) -> None:
    """The record still says "created" (the daemon died right after the runtime started the process):
    the restarted daemon adopts the running process instead of leaking it."""
    eng = own_engine
    cid = eng.run(["sleep", "60"])
    pid = eng.json("GET", f"/containers/{cid}/json")["State"]["Pid"]
    eng.kill9()
    record = eng.data_root / "containers" / cid / "config.v2.json"
    data = json.loads(record.read_text())
    data["State"].update(Status="created", Pid=0, StartedAt="0001-01-01T00:00:00Z")
    record.write_text(json.dumps(data))
    eng.start()
    st = eng.json("GET", f"/containers/{cid}/json")["State"]
    assert st["Status"] == "running" and st["Pid"] == pid
    assert eng.request("POST", f"/containers/{cid}/kill").status == 204
    assert eng.json("POST", f"/containers/{cid}/wait")["StatusCode"] == 137


def test_restart_policies_at_daemon_start(own_engine: EngineProcess) -> None:
    eng = own_engine
    always = eng.run(["sleep", "60"], HostConfig={"RestartPolicy": {"Name": "always"}})
    unless = eng.run(["sleep", "60"], HostConfig={"RestartPolicy": {"Name": "unless-stopped"}})
    for cid in (always, unless):
        assert eng.request("POST", f"/containers/{cid}/stop?t=0").status == 204
    eng.stop()
    eng.start()
    # dockerd's rules: "always" comes back even after a manual stop, "unless-stopped" does not
    assert eng.json("GET", f"/containers/{always}/json")["State"]["Status"] == "running"
    assert eng.json("GET", f"/containers/{unless}/json")["State"]["Status"] == "exited"


def test_leftovers_of_an_interrupted_create_are_discarded(own_engine: EngineProcess) -> None:
    eng = own_engine
    cid = eng.json("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"]})["Id"]
    eng.kill9()
    # as if the daemon died before committing the record
    (eng.data_root / "containers" / cid / "config.v2.json").unlink()
    eng.start()
    assert eng.request("GET", f"/containers/{cid}/json").status == 404
    assert not (eng.data_root / "containers" / cid).exists()
    assert not (eng.data_root / "images" / "rw" / cid).exists()


def test_two_sockets_and_a_pidfile_flag() -> None:
    eng = new_engine()
    second = eng.base / "second.sock"
    pidfile = eng.base / "custom.pid"
    eng.extra_args = ("-H", f"unix://{second}", "--pidfile", str(pidfile))
    try:
        eng.start()  # answers on its first socket
        assert pidfile.read_text().strip() == str(eng.proc.pid)  # type: ignore[union-attr]
        conn = UnixHTTPConnection(str(second))
        conn.request("GET", "/_ping")
        assert conn.getresponse().read() == b"OK"
        conn.close()
    finally:
        eng.cleanup()
    assert not second.exists()
