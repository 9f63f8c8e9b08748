"""kill, pause, unpause, top, port, images, wait, stats, events against a real engine; states and results
are checked through docker-py, an independent client."""

from __future__ import annotations

import json
import re
import socket
import time

import pytest

from tests.integration.commands.conftest import Project
from tests.support.listeners import wait_for_listener

pytestmark = pytest.mark.root


def _state(project: Project, cid: str) -> dict[str, object]:
    return dict(project.api.inspect_container(cid)["State"])


def test_kill_sends_the_signal_to_the_chosen_service_only(project: Project) -> None:
    web = project.container(
        "web", cmd=["sh", "-c", "trap 'exit 7' TERM; echo armed; while true; do sleep 0.1; done"]
    )
    worker = project.container("worker")
    deadline = time.monotonic() + 10
    while b"armed" not in project.api.logs(web) and time.monotonic() < deadline:
        time.sleep(0.05)  # the trap is set once "armed" is printed
    result = project.composer("kill", "-s", "SIGTERM", "web", check=True)
    assert result.stderr == " Container demo-web-1  Killing\n Container demo-web-1  Killed\n"
    assert project.api.wait(web, timeout=10)["StatusCode"] == 7
    assert _state(project, worker)["Running"] is True


def test_kill_with_nothing_running_says_so(project: Project) -> None:
    result = project.composer("kill")
    assert (result.returncode, result.stderr) == (0, "no container to kill\n")


def test_pause_and_unpause(project: Project) -> None:
    web = project.container("web")
    result = project.composer("pause", "web", check=True)
    assert result.stderr == " Container demo-web-1  Paused\n"
    assert _state(project, web)["Paused"] is True
    result = project.composer("unpause", check=True)
    assert result.stderr == " Container demo-web-1  Unpaused\n"
    assert _state(project, web)["Paused"] is False


def test_top_lists_processes_per_service_and_number(project: Project) -> None:
    project.container("web", cmd=["sleep", "3601"])
    project.container("worker", 2, cmd=["sleep", "3602"])
    lines = project.composer("top", check=True).stdout.splitlines()
    assert re.match(r"SERVICE +# +UID +PID +PPID +C +STIME +TTY +TIME +CMD$", lines[0]), lines[0]
    assert re.match(r"web +1 +root +\d+ .*sleep 3601$", lines[1]), lines
    assert re.match(r"worker +2 +root +\d+ .*sleep 3602$", lines[2]), lines


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_port_prints_the_published_address(project: Project) -> None:
    host_port = _free_port()
    web = project.container(
        "web",
        ports=[8080],
        host_config=project.api.create_host_config(port_bindings={8080: ("127.0.0.1", host_port)}),
    )
    # what the engine publishes, as docker-py sees it (an engine without port publishing reports none)
    published = (project.api.inspect_container(web)["NetworkSettings"]["Ports"] or {}).get("8080/tcp")
    result = project.composer("port", "web", "8080")
    if published:
        assert (result.returncode, result.stdout) == (
            0,
            f"{published[0]['HostIp']}:{published[0]['HostPort']}\n",
        )
    else:
        assert (result.returncode, result.stderr) == (1, "no port 8080/tcp for container demo-web-1\n")
    missing = project.composer("port", "web", "9999")
    assert (missing.returncode, missing.stderr) == (1, "no port 9999/tcp for container demo-web-1\n")
    stopped = project.composer("port", "worker", "80")
    assert (stopped.returncode, stopped.stderr) == (1, 'service "worker" is not running\n')


def test_images_table_quiet_and_json(project: Project) -> None:
    project.container("web")
    image_id = project.api.inspect_image("busybox:latest")["Id"]
    lines = project.composer("images", check=True).stdout.splitlines()
    assert lines[0].split() == [
        "CONTAINER",
        "REPOSITORY",
        "TAG",
        "PLATFORM",
        "IMAGE",
        "ID",
        "SIZE",
        "CREATED",
    ]
    assert lines[1].split()[:5] == ["demo-web-1", "busybox", "latest", "linux/amd64", image_id[7:19]]
    assert project.composer("images", "-q", check=True).stdout == image_id[7:] + "\n"
    entries = json.loads(project.composer("images", "--format", "json", check=True).stdout)
    assert [(e["ContainerName"], e["ID"], e["Tag"]) for e in entries] == [("demo-web-1", image_id, "latest")]


def test_wait_returns_the_exit_code_of_the_first_to_stop(project: Project) -> None:
    once = project.container("once", cmd=["sh", "-c", "sleep 0.5; exit 3"])
    waited = project.composer("wait", "once")
    assert waited.returncode == 3
    assert waited.stdout == f'container "{once}" exited with status code 3\n'  # as Compose prints it
    none = project.composer("wait", "worker")
    assert (none.returncode, none.stderr) == (1, 'no containers for project "demo"\n')


def test_stats_no_stream_reports_each_running_container(project: Project) -> None:
    web = project.container("web")
    lines = project.composer("stats", "--no-stream", check=True).stdout.splitlines()
    assert lines[0].split("   ")[:2] == ["CONTAINER ID", "NAME"]
    assert lines[1].startswith(web[:12]) and "demo-web-1" in lines[1]
    assert re.search(r"\d+\.\d\d% +\S+ / \S+ +\d+\.\d\d% ", lines[1]), lines[1]


def test_events_streams_the_projects_container_events(project: Project) -> None:
    before = project.api.info()["NEventsListener"]
    proc = project.popen("events", "--json")
    try:
        wait_for_listener(project.api.info, before)
        cid = project.container("worker")
        assert proc.stdout is not None
        event = json.loads(proc.stdout.readline())
        while event["action"] != "start":
            event = json.loads(proc.stdout.readline())
        assert (event["id"], event["service"], event["type"]) == (cid, "worker", "container")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z", event["time"]), event["time"]
        assert list(event) == sorted(event)  # keys in the reference's (alphabetical) order
        assert event["attributes"]["name"] == "demo-worker-1"
    finally:
        proc.send_signal(2)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err  # ended by Ctrl-C, as the reference


def test_events_text_lines(project: Project) -> None:
    before = project.api.info()["NEventsListener"]
    proc = project.popen("events")
    try:
        wait_for_listener(project.api.info, before)
        cid = project.container("web")
        assert proc.stdout is not None
        line = proc.stdout.readline()
        while " container start " not in line:
            line = proc.stdout.readline()
        assert re.fullmatch(
            rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{{6}} container start {cid} \(.*name=demo-web-1.*\)\n",
            line,
        ), line
        assert "com.docker.compose" not in line
        assert proc.stdout.readline() == "\n"  # the reference leaves a blank line after each event
    finally:
        proc.send_signal(2)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err  # ended by Ctrl-C, as the reference


def test_wait_down_project_removes_the_project_after_the_first_exit(project: Project) -> None:
    project.container("once", cmd=["sh", "-c", "sleep 0.5; exit 2"])
    project.container("worker", cmd=["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"])
    result = project.composer("wait", "--down-project", "once", "worker")
    assert result.returncode == 2, result.stderr
    assert project.api.containers(all=True, filters={"label": ["com.docker.compose.project=demo"]}) == []


def test_stats_json(project: Project) -> None:
    web = project.container("web")
    (line,) = project.composer("stats", "--no-stream", "--format", "json", check=True).stdout.splitlines()
    entry = json.loads(line)
    assert sorted(entry) == [
        "BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO", "PIDs",
    ]  # fmt: skip
    assert (entry["ID"], entry["Name"], entry["PIDs"]) == (web[:12], "demo-web-1", "1")
