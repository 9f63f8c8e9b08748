"""The docker CLI against our engine: version/info and the container lifecycle commands."""

from __future__ import annotations

import contextlib
import json
import queue
import re
import threading
import time
from pathlib import Path

import pytest

from tests.e2e.helpers import DockerCLI, wait_until
from tests.support.listeners import wait_for_listener

pytestmark = [pytest.mark.e2e, pytest.mark.root]


def state(docker: DockerCLI, name: str) -> dict:
    return json.loads(docker("inspect", "--format", "{{json .State}}", name).out)


def test_version_reports_server(docker: DockerCLI) -> None:
    res = docker("version", "--format", "{{.Server.APIVersion}} {{.Server.Os}}")
    api, os_ = res.out.split()
    assert re.fullmatch(r"1\.\d+", api)
    assert os_ == "linux"
    assert "Server:" in docker("version").out


def test_info_reports_engine(docker: DockerCLI) -> None:
    res = docker("info", "--format", "{{json .}}")
    info = json.loads(res.out)
    assert info["OSType"] == "linux"
    assert info["Driver"] == "overlay2"
    assert info["Images"] >= 1
    assert "Server Version" in docker("info").out


def test_run_rm_output_and_exit_codes(docker: DockerCLI) -> None:
    assert docker("run", "--rm", "busybox", "echo", "hello", "world").out == "hello world\n"
    assert docker("run", "--rm", "busybox", "sh", "-c", "echo to-err >&2; exit 3", rc=3).err == "to-err\n"
    missing = docker("run", "--rm", "busybox", "no-such-binary", rc=127)
    assert "executable file not found" in missing.err
    assert docker("ps", "-aq").out.strip() == ""  # --rm left nothing behind


def test_run_detached_ps_and_filters(docker: DockerCLI) -> None:
    cid = docker(
        "run", "-d", "--name", "e2e-ps", "--label", "e2e.role=server", "busybox", "sleep", "300"
    ).out.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    docker("run", "--name", "e2e-ps-done", "busybox", "true")
    running = docker("ps", "--format", "{{.ID}} {{.Names}} {{.Image}} {{.Status}}").out.splitlines()
    assert any(line.startswith(cid[:12] + " e2e-ps busybox Up") for line in running), running
    assert not any("e2e-ps-done" in line for line in running)
    everything = docker("ps", "-a", "--format", "{{.Names}}").out.split()
    assert {"e2e-ps", "e2e-ps-done"} <= set(everything)
    assert docker("ps", "-a", "--filter", "status=exited", "--format", "{{.Names}}").out.split() == [
        "e2e-ps-done"
    ]
    assert docker("ps", "--filter", "label=e2e.role=server", "-q").out.split() == [cid[:12]]
    assert docker("ps", "-a", "--filter", "name=e2e-ps-done", "--format", "{{.Status}}").out.startswith(
        "Exited (0)"
    )


def test_logs_and_follow(docker: DockerCLI) -> None:
    docker(
        "run",
        "-d",
        "--name",
        "e2e-logs",
        "busybox",
        "sh",
        "-c",
        "echo one; echo two >&2; sleep 1; echo three",
    )
    wait_until(lambda: "two" in docker("logs", "e2e-logs").err, what="first log lines")
    follow = docker("logs", "-f", "e2e-logs", timeout=20)  # returns when the container exits
    assert follow.out == "one\nthree\n"
    assert follow.err == "two\n"
    assert docker("logs", "--tail", "1", "e2e-logs").out == "three\n"


def test_stop_kill_restart_wait(docker: DockerCLI) -> None:
    docker(
        "run",
        "-d",
        "--name",
        "e2e-stop",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 7' TERM; while true; do sleep 0.1; done",
    )
    assert docker("stop", "-t", "5", "e2e-stop").out.strip() == "e2e-stop"
    st = state(docker, "e2e-stop")
    assert (st["Status"], st["ExitCode"]) == ("exited", 7)

    docker("run", "-d", "--name", "e2e-kill", "busybox", "sleep", "300")
    assert docker("kill", "e2e-kill").out.strip() == "e2e-kill"
    assert docker("wait", "e2e-kill").out.strip() == "137"

    docker("run", "-d", "--name", "e2e-restart", "busybox", "sleep", "300")
    first = state(docker, "e2e-restart")["StartedAt"]
    time.sleep(0.05)
    assert docker("restart", "-t", "1", "e2e-restart").out.strip() == "e2e-restart"
    again = state(docker, "e2e-restart")
    assert again["Running"] and again["StartedAt"] != first

    docker("run", "-d", "--name", "e2e-wait", "busybox", "sh", "-c", "sleep 0.3; exit 5")
    assert docker("wait", "e2e-wait").out.strip() == "5"


def test_rm_force_and_inspect(docker: DockerCLI) -> None:
    cid = docker("run", "-d", "--name", "e2e-rm", "-e", "GREETING=hi", "busybox", "sleep", "300").out.strip()
    fmt = "{{.Name}} {{.State.Running}} {{.Config.Image}} {{index .Config.Env 0}} {{.Path}}"
    assert docker("inspect", "--format", fmt, cid).out.split() == [
        "/e2e-rm",
        "true",
        "busybox",
        "GREETING=hi",
        "sleep",
    ]
    full = json.loads(docker("inspect", "e2e-rm").out)[0]
    assert full["Id"] == cid and full["State"]["Pid"] > 0
    refused = docker("rm", "e2e-rm", rc=1)  # running: plain rm is refused
    assert "stop the container before removing or force remove" in refused.err
    assert docker("rm", "-f", "e2e-rm").out.strip() == "e2e-rm"
    gone = docker("inspect", "e2e-rm", rc=1)
    assert "No such object: e2e-rm" in gone.err


def test_top_and_stats(docker: DockerCLI) -> None:
    docker("run", "-d", "--name", "e2e-top", "busybox", "sleep", "300")
    top = docker("top", "e2e-top").out.splitlines()
    assert top[0].split()[:3] == ["UID", "PID", "PPID"]
    assert any(line.endswith("sleep 300") for line in top[1:]), top
    stats = docker("stats", "--no-stream", "--format", "{{.Name}}|{{.MemUsage}}|{{.PIDs}}", "e2e-top").out
    name, mem, pids = stats.strip().split("|")
    assert name == "e2e-top"
    assert re.match(r"[\d.]+[KMG]?i?B / [\d.]+[KMGT]?i?B", mem), mem
    assert pids == "1"


def test_events_report_lifecycle(docker: DockerCLI) -> None:
    since = str(int(time.time()) - 1)
    docker("run", "--rm", "--name", "e2e-events", "busybox", "true")
    until = str(int(time.time()) + 1)
    res = docker(
        "events",
        "--since",
        since,
        "--until",
        until,
        "--filter",
        "container=e2e-events",
        "--format",
        "{{.Type}} {{.Action}}",
        timeout=15,
    )
    actions = [line.split(" ", 1)[1] for line in res.out.splitlines()]
    for step in ("create", "start", "die", "destroy"):
        assert step in actions, actions
    assert actions.index("create") < actions.index("start") < actions.index("die") < actions.index("destroy")


def test_run_options_reach_the_container(docker: DockerCLI, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # uid 1000 writes into it
    (shared / "in.txt").write_text("from the host\n")
    env_file = tmp_path / "env"
    env_file.write_text("FROM_FILE=yes\n")
    script = "cat /mnt/in.txt; echo $FROM_FILE $X; pwd; id -u; hostname; echo out > /mnt/out.txt"
    out = docker(
        "run",
        "--rm",
        "-v",
        f"{shared}:/mnt",
        "--env-file",
        str(env_file),
        "-e",
        "X=1",
        "-w",
        "/tmp",
        "-u",
        "1000",
        "--hostname",
        "e2e-host",
        "busybox",
        "sh",
        "-c",
        script,
    ).out
    assert out.splitlines() == ["from the host", "yes 1", "/tmp", "1000", "e2e-host"]
    assert (shared / "out.txt").read_text() == "out\n"
    assert (
        docker("run", "--rm", "--entrypoint", "echo", "busybox", "via", "entrypoint").out
        == "via entrypoint\n"
    )
    ro = docker("run", "--rm", "--read-only", "busybox", "touch", "/x", rc=1)
    assert "Read-only file system" in ro.err
    limit = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"
    assert docker("run", "--rm", "-m", "64m", "busybox", "sh", "-c", limit).out.strip() == str(64 << 20)


def test_pause_unpause_rename(docker: DockerCLI) -> None:
    docker("run", "-d", "--name", "e2e-pause", "busybox", "sleep", "300")
    docker("pause", "e2e-pause")
    assert state(docker, "e2e-pause")["Status"] == "paused"
    assert "(Paused)" in docker("ps", "--filter", "name=e2e-pause", "--format", "{{.Status}}").out
    docker("unpause", "e2e-pause")
    assert state(docker, "e2e-pause")["Status"] == "running"
    docker("rename", "e2e-pause", "e2e-renamed")
    assert docker("inspect", "--format", "{{.Name}}", "e2e-renamed").out.strip() == "/e2e-renamed"
    taken = docker("run", "-d", "--name", "e2e-renamed", "busybox", "true", rc=125)
    assert 'The container name "/e2e-renamed" is already in use' in taken.err


def test_events_stream_live(docker: DockerCLI) -> None:
    def info() -> dict[str, int]:
        return {"NEventsListener": int(docker("info", "--format", "{{.NEventsListener}}").out)}

    before = info()["NEventsListener"]
    watcher = docker.popen("events", "--filter", "container=e2e-live", "--format", "{{.Action}}")
    lines: queue.Queue[str] = queue.Queue()
    assert watcher.stdout is not None
    stream = watcher.stdout

    def pump() -> None:
        for line in stream:
            lines.put(line.strip())

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        wait_for_listener(info, before)  # the subscription reached the engine before the events happen
        docker("run", "--rm", "--name", "e2e-live", "busybox", "true")
        seen: list[str] = []
        with contextlib.suppress(queue.Empty):
            while "destroy" not in seen:
                seen.append(lines.get(timeout=15))
        assert seen == ["create", "attach", "start", "die", "destroy"]  # dockerd's order for a foreground run
    finally:
        watcher.kill()
        reader.join(5)
        with watcher:  # closes its pipes and reaps it
            pass
