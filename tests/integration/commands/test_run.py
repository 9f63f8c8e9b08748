"""`composer run`: one-off containers (labels, command, env, stdin, exit code, --rm, -d)."""

from __future__ import annotations

import socket

import pytest

from tests.integration.commands.conftest import Project

pytestmark = pytest.mark.root


def _oneoffs(project: Project) -> list[dict[str, object]]:
    return list(
        project.api.containers(
            all=True, filters={"label": ["com.docker.compose.project=demo", "com.docker.compose.oneoff=True"]}
        )
    )


def test_run_passes_output_stdin_and_exit_code_and_rm_removes(project: Project) -> None:
    result = project.composer(
        "run", "--rm", "--no-deps", "-T", "-e", "WHO=run", "once", "sh", "-c",
        'read line; echo "$WHO got $line"; echo oops >&2; exit 4', input=b"data\n",
    )  # fmt: skip
    assert (result.returncode, result.stdout, result.stderr.splitlines()[-1]) == (4, "run got data\n", "oops")
    assert _oneoffs(project) == []


def test_run_detached_prints_the_name_and_labels_the_container_as_oneoff(project: Project) -> None:
    result = project.composer("run", "-d", "--no-deps", "worker", "sleep", "30", check=True)
    name = result.stdout.strip()
    assert name.startswith("demo-worker-run-")
    (found,) = _oneoffs(project)
    assert found["Names"] == [f"/{name}"]
    labels = found["Labels"]
    assert isinstance(labels, dict)
    assert (labels["com.docker.compose.service"], labels["com.docker.compose.oneoff"]) == ("worker", "True")
    assert found["State"] == "running"
    assert project.composer("ps", "-q").stdout.strip() == ""  # a one-off is not a service container


def test_run_of_an_unknown_service(project: Project) -> None:
    result = project.composer("run", "nope")
    assert (result.returncode, result.stderr) == (1, "no such service: nope\n")


def test_run_starts_the_dependencies_first_unless_no_deps(project: Project) -> None:
    (project.path / "compose.yaml").write_text(
        "name: demo\n"
        "services:\n"
        "  db:\n"
        "    image: busybox:latest\n"
        "    command: [sleep, '3600']\n"
        "  app:\n"
        "    image: busybox:latest\n"
        "    depends_on: [db]\n"
    )
    alone = project.composer("run", "--rm", "--no-deps", "-T", "app", "true")
    assert alone.returncode == 0, alone.stderr
    assert project.api.containers(filters={"name": "demo-db-1"}) == []
    result = project.composer("run", "--rm", "-T", "app", "echo", "ran")
    assert (result.returncode, result.stdout) == (0, "ran\n"), result.stderr
    (db,) = project.api.containers(filters={"label": ["com.docker.compose.service=db"]})
    assert db["State"] == "running" and db["Names"] == ["/demo-db-1"]
    assert project.api.containers(all=True, filters={"label": ["com.docker.compose.service=app"]}) == []


def test_run_publishes_only_what_it_is_asked_to(project: Project) -> None:
    # web declares ports: ["8080"]; a one-off does not publish them unless --service-ports
    quiet = project.composer("run", "-d", "--no-deps", "web", "sleep", "30", check=True).stdout.strip()
    assert project.api.inspect_container(quiet)["HostConfig"]["PortBindings"] in ({}, None)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    explicit = project.composer(
        "run", "-d", "--no-deps", "-p", f"127.0.0.1:{port}:9000", "web", "sleep", "30", check=True
    ).stdout.strip()
    bindings = project.api.inspect_container(explicit)["HostConfig"]["PortBindings"]
    assert bindings == {"9000/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    service = project.composer("run", "-d", "--no-deps", "--service-ports", "web", "sleep", "30", check=True)
    assert "8080/tcp" in project.api.inspect_container(service.stdout.strip())["HostConfig"]["PortBindings"]


def test_run_entrypoint_user_workdir_and_labels(project: Project) -> None:
    result = project.composer(
        "run", "--rm", "--no-deps", "-T", "--entrypoint", "sh -c", "-u", "65534", "-w", "/tmp",
        "-l", "team=ops", "worker", 'echo "$(id -u) $(pwd)"',
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (0, "65534 /tmp\n"), result.stderr
