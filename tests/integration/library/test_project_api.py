"""The Python API (`from composer import Project`) on examples/webapp against a private engine: typed
results, the CLI's error messages, unique names and ephemeral ports for parallel use, and a context
manager that always takes the stack down."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from composer import ComposerError, Project
from composer import labels as L
from composer.api import Container, ExecResult, PortBinding
from composer.readiness import WaitTimeout
from tests.support.engine import EngineProcess

pytestmark = pytest.mark.root

WEBAPP = Path(__file__).resolve().parents[3] / "examples" / "webapp"


def _project_objects(engine: EngineProcess, name: str) -> list[str]:
    label = f'{{"label":["{L.PROJECT}={name}"]}}'
    from urllib.parse import quote

    found = [c["Names"][0] for c in engine.json("GET", f"/containers/json?all=1&filters={quote(label)}")]
    found += [n["Name"] for n in engine.json("GET", f"/networks?filters={quote(label)}")]
    found += [v["Name"] for v in engine.json("GET", f"/volumes?filters={quote(label)}")["Volumes"] or []]
    return found


def test_context_manager_brings_webapp_up_and_takes_everything_down(engine_env: EngineProcess) -> None:
    with Project.load(WEBAPP, ephemeral_ports=True) as project:
        name = project.name
        assert name.startswith("webapp-") and len(name) == len("webapp-") + 8  # a unique name per use
        containers = project.ps()
        assert [(c.service, c.number, c.state) for c in containers] == [
            ("kv", 1, "running"),
            ("web", 1, "running"),
            ("worker", 1, "running"),
        ]
        assert all(isinstance(c, Container) for c in containers)
        web = next(c for c in containers if c.service == "web")
        assert web.health == "healthy"  # up() waited for the healthchecks
        binding = project.port("web", 80)
        assert isinstance(binding, PortBinding) and binding.host == "127.0.0.1"
        assert binding.port != 8080  # "8080:80" became an engine-chosen port
        url = project.service_url("web", 80)
        assert url == f"http://127.0.0.1:{binding.port}"
        with urllib.request.urlopen(url + "/", timeout=30) as resp:
            assert resp.status == 200
        result = project.exec("kv", "echo PING | nc -w 1 127.0.0.1 6379")
        assert result == ExecResult(0, "PONG\n")
        code, output = project.exec("kv", ["sh", "-c", "echo out; echo err >&2; exit 3"])
        assert (code, sorted(output.split())) == (3, ["err", "out"])
        ran = project.run("worker", "echo one-off $$0", no_deps=True)
        assert ran.exit_code == 0 and "one-off" in ran.output
        assert not [c for c in project.ps() if c.oneoff]  # removed after it exited
        lines = [ln for ln in project.logs("web") if ln.text]
        assert lines and {ln.service for ln in lines} == {"web"}
        assert lines[0].container == f"{name}-web-1"
        assert project.wait_for_log("web", r"response:200$", timeout=60).endswith("response:200")
        followed = project.logs("web", follow=True)
        assert next(followed).service == "web"
        followed.close()  # ends the follow threads' streams
        project.wait_for_port("web", 80, timeout=30)
        assert project.wait_for_http("web", 80, "/", timeout=30) == url + "/"
        assert _project_objects(engine_env, name)
    assert _project_objects(engine_env, name) == []  # down -v: containers, network and kvdata gone


def test_errors_are_the_clis(engine_env: EngineProcess, tmp_path: Path) -> None:
    bad = tmp_path / "compose.yaml"
    bad.write_text('services:\n  web:\n    image: busybox\n    ports: ["notaport"]\n')
    with pytest.raises(ComposerError) as err:
        Project.load(bad)
    assert str(bad) in str(err.value) and "ports" in str(err.value)
    project = Project.load(WEBAPP, project_name="webapp-api-errors", ephemeral_ports=True)
    assert project.name == "webapp-api-errors"  # a given name is used as is
    with pytest.raises(ComposerError, match="^no such service: nope$"):
        project.up(["nope"])
    with pytest.raises(ComposerError, match='^service "web" is not running$'):
        project.port("web", 80)
    project.up(["kv"], wait=True)
    try:
        with pytest.raises(ComposerError, match=r"^no port 81/tcp for container webapp-api-errors-kv-1$"):
            project.port("kv", 81)
        with pytest.raises(WaitTimeout) as timeout:
            project.wait_for_log("kv", "never printed", timeout=0.5)
        assert str(timeout.value).startswith(
            "timed out after 0.5s waiting for 'never printed' in the logs of service kv"
        )
        with pytest.raises(WaitTimeout, match=r"waiting for 127\.0\.0\.1:1 to accept TCP connections"):
            from composer.readiness import wait_for_port

            wait_for_port("127.0.0.1", 1, timeout=0.3)
    finally:
        project.down()
    assert _project_objects(engine_env, "webapp-api-errors") == []


def test_two_loads_of_one_file_run_side_by_side(engine_env: EngineProcess) -> None:
    first = Project.load(WEBAPP, ephemeral_ports=True)
    second = Project.load(WEBAPP, ephemeral_ports=True)
    assert first.name != second.name
    try:
        first.up(["kv"])
        second.up(["kv"])
        assert first.ps()[0].name != second.ps()[0].name
        assert first.exec("kv", "echo PING | nc -w 1 127.0.0.1 6379").output == "PONG\n"
    finally:
        first.down()
        second.down()


def test_watch_syncs_edits_and_down_stops_it(engine_env: EngineProcess, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "compose.yaml").write_text(
        "services:\n"
        "  app:\n"
        "    image: busybox:latest\n"
        "    command: [sleep, '1000']\n"
        "    init: true\n"
        "    develop:\n"
        "      watch:\n"
        "        - {action: sync, path: ./src, target: /app}\n"
    )
    events: list[str] = []
    with Project.load(tmp_path) as project:
        watcher = project.watch(on_event=events.append)
        (tmp_path / "src" / "a.txt").write_text("hello\n")
        import time

        deadline = time.monotonic() + 30
        while project.exec("app", "cat /app/a.txt 2>/dev/null").output != "hello\n":
            assert time.monotonic() < deadline, events
            time.sleep(0.2)
        assert any(e.startswith("Synced service app") for e in events), events
    assert watcher._observer is None  # down() stopped the watch
    with pytest.raises(ComposerError, match="nothing to watch"):
        Project.load(WEBAPP).watch()


def test_reap_removes_networks_and_volumes_of_a_dead_owner_only(engine_env: EngineProcess) -> None:
    """A run killed before any container existed leaves only a network or a volume: they carry the
    owner label too, and only a dead owner's objects go."""
    import socket
    import subprocess
    import sys

    from composer.api import reap_orphaned
    from composer.reaper import owner_label

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = f"{socket.gethostname()}/{gone.pid}/1"
    for project, owner in (("orphan-x", dead), ("alive-y", owner_label())):
        labels = {L.PROJECT: project, L.OWNER: owner}
        engine_env.json("POST", "/networks/create", {"Name": f"{project}_default", "Labels": labels})
        engine_env.json("POST", "/volumes/create", {"Name": f"{project}_data", "Labels": labels})
    try:
        assert reap_orphaned() == ["orphan-x"]
        assert _project_objects(engine_env, "orphan-x") == []
        assert sorted(_project_objects(engine_env, "alive-y")) == ["alive-y_data", "alive-y_default"]
    finally:
        engine_env.request("DELETE", "/networks/alive-y_default")
        engine_env.request("DELETE", "/volumes/alive-y_data")
