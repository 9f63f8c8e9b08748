"""ps, ls, stop, start, restart, rm and create against a real engine, with docker compose's output shapes."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest

from tests.integration.compose.conftest import Runner

pytestmark = pytest.mark.root

PROJECT = """
name: life
services:
  db: {image: busybox:latest, command: sleep 1000, init: true, volumes: [/scratch]}
  app: {image: busybox:latest, command: sleep 1000, init: true, depends_on: [db], ports: ["127.0.0.1::80"]}
"""


def _states(api: docker.APIClient) -> dict[str, str]:
    items = api.containers(all=True, filters={"label": ["com.docker.compose.project=life"]})
    return {c["Names"][0].lstrip("/"): c["State"] for c in items}


def test_lifecycle_commands(composer: Runner, api: docker.APIClient, project_dir: Path) -> None:
    (project_dir / "compose.yaml").write_text(PROJECT)
    created = composer("create")
    assert created.code == 0, created.err
    assert _states(api) == {"life-db-1": "created", "life-app-1": "created"}
    assert composer("ps", "-q").out == ""  # only running ones without -a
    assert len(composer("ps", "-a", "-q").out.split()) == 2

    started = composer("start")
    assert started.code == 0, started.err
    assert set(_states(api).values()) == {"running"}
    table = composer("ps").out.splitlines()
    assert table[0].split() == ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"]
    assert [line.split()[0] for line in table[1:]] == ["life-app-1", "life-db-1"]
    rows = [json.loads(line) for line in composer("ps", "--format", "json").out.splitlines()]
    assert {(r["Service"], r["State"], r["Project"]) for r in rows} == {
        ("app", "running", "life"),
        ("db", "running", "life"),
    }
    assert composer("ps", "--services").out.split() == ["app", "db"]
    projects = json.loads(composer("ls", "--format", "json").out)
    assert {
        "Name": "life",
        "Status": "running(2)",
        "ConfigFiles": str(project_dir / "compose.yaml"),
    } in projects

    stopped = composer("stop", "-t", "1", "db")
    assert stopped.code == 0, stopped.err
    # stopping db stops only db; app keeps running (docker compose stop does not cascade)
    assert _states(api) == {"life-db-1": "exited", "life-app-1": "running"}
    assert composer("ps", "--status", "exited", "--services").out.split() == ["db"]
    assert "life" in composer("ls", "-q").out.split()

    before = api.inspect_container("life-app-1")["State"]["StartedAt"]
    restarted = composer("restart", "-t", "1")
    assert restarted.code == 0, restarted.err
    assert set(_states(api).values()) == {"running"}
    assert api.inspect_container("life-app-1")["State"]["StartedAt"] != before

    assert composer("stop", "-t", "1").code == 0
    volumes_before = {v["Name"] for v in api.volumes().get("Volumes") or []}
    removed = composer("rm", "-f", "-v")
    assert removed.code == 0, removed.err
    assert _states(api) == {}
    assert {v["Name"] for v in api.volumes().get("Volumes") or []} < volumes_before  # anonymous one gone
    assert composer("rm", "-f").err.strip() == "No stopped containers"
    nothing = composer("start")
    assert nothing.code == 1
    assert nothing.err.strip() == "service 'db' has no container to start"


def test_bad_input_is_one_line(composer: Runner, project_dir: Path) -> None:
    (project_dir / "compose.yaml").write_text(PROJECT)
    for args, message in [
        (("up", "-d", "nope"), "no such service: nope"),
        (("up", "--scale", "db"), "invalid --scale 'db': use SERVICE=NUM"),
        (("ps", "--status", "sleepy"), "invalid --status 'sleepy'"),
        (("down", "--rmi", "some"), "invalid --rmi 'some': use local or all"),
        # as docker compose: the first unknown service is named, for every command
        (("down", "zz", "yy"), "no such service: zz"),
        (("ps", "zz", "yy"), "no such service: zz"),
        (("stop", "zz", "yy"), "no such service: zz"),
        (("logs", "zz", "yy"), "no such service: zz"),
    ]:
        res = composer(*args)
        assert res.code == 1, args
        assert len(res.err.strip().splitlines()) == 1 and message in res.err, res.err
        if message.startswith("no such service"):
            assert res.err.strip() == message


def test_down_by_project_name_without_the_file(
    composer: Runner, api: docker.APIClient, project_dir: Path
) -> None:
    (project_dir / "compose.yaml").write_text(PROJECT)
    assert composer("up", "-d").code == 0
    (project_dir / "compose.yaml").unlink()
    assert composer("down").code == 1  # no file and no name: one line, nothing touched
    assert len(_states(api)) == 2
    res = composer("-p", "life", "down", "-v", "-t", "1")
    assert res.code == 0, res.err
    assert _states(api) == {}
    assert not [n for n in api.networks() if n["Name"] == "life_default"]
