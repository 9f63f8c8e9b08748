"""`composer run`: one-off containers (labels, command, env, stdin, exit code, --rm, -d)."""

from __future__ import annotations

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
