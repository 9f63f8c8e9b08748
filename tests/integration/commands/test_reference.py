"""Side by side with the reference Docker Compose v2 binary on the same engine and project: the same
tables, log lines, messages and exit codes."""

from __future__ import annotations

import re
import time

import pytest

from tests.integration.commands.conftest import Project

pytestmark = [pytest.mark.root, pytest.mark.reference]


def _both(project: Project, *args: str) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    ours = project.composer(*args)
    ref = project.reference(*args)
    return (ours.returncode, ours.stdout, ours.stderr), (ref.returncode, ref.stdout, ref.stderr)


@pytest.fixture
def running(project: Project) -> Project:
    started = {
        project.container("web", cmd=["sh", "-c", "echo one; echo two; sleep 3600"]): b"two",
        project.container("worker", cmd=["sh", "-c", "echo ready; sleep 3600"]): b"ready",
        project.container("worker", 2, cmd=["sh", "-c", "echo also ready; sleep 3600"]): b"also ready",
    }
    deadline = time.monotonic() + 60
    for cid, last in started.items():  # every line is in the logs before the two tools read them
        while last not in project.api.logs(cid):
            assert time.monotonic() < deadline, f"no {last!r} in {cid[:12]}'s log"
            time.sleep(0.05)
    return project


def test_top_is_the_same_table(running: Project) -> None:
    ours, ref = _both(running, "top")
    assert ours == ref


def test_images_is_the_same_table_but_for_the_age(running: Project) -> None:
    ours, ref = _both(running, "images")
    assert ours[0] == ref[0] == 0

    def without_age(text: str) -> list[str]:
        return [line[:120].rstrip() for line in text.splitlines()]

    assert without_age(ours[1]) == without_age(ref[1])
    assert _both(running, "images", "-q")[0] == _both(running, "images", "-q")[1]


def test_logs_print_the_same_lines(running: Project) -> None:
    for args in (
        ("logs", "--no-color"),
        ("logs", "--no-log-prefix", "worker"),
        ("logs", "--tail", "1", "web"),
    ):
        ours, ref = _both(running, *args)
        # the padding depends on which container printed first, in both tools
        assert (ours[0], _unpadded(ours[1])) == (ref[0], _unpadded(ref[1])), args


def _unpadded(text: str) -> list[str]:
    return sorted(re.sub(r"^(\S+) +\| ", r"\1 | ", line) for line in text.split("\n"))


def test_exec_port_and_errors_match(running: Project) -> None:
    for args in (
        ("exec", "-T", "web", "sh", "-c", "echo out; echo err >&2; exit 3"),
        ("exec", "-T", "--index", "2", "worker", "hostname"),
        ("exec", "-T", "--index", "3", "worker", "true"),
        ("port", "web", "8080"),
        ("logs", "nope"),
        ("kill", "nope"),
    ):
        ours, ref = _both(running, *args)
        if args[-1] == "hostname":
            assert ours[:2] == ref[:2], args
            continue
        assert (ours[0], ours[1]) == (ref[0], ref[1]), args
        assert ours[2].replace('"', "").rstrip(": \n") == ref[2].replace('"', "").rstrip(": \n"), args


def test_pause_unpause_and_kill_progress_lines(running: Project) -> None:
    assert running.composer("pause", "web").stderr == running.reference("unpause", "web").stderr.replace(
        "Unpaused", "Paused"
    )
    ours = running.composer("kill", "-s", "SIGKILL", "worker")
    assert sorted(ours.stderr.splitlines()) == [
        " Container demo-worker-1  Killed",
        " Container demo-worker-1  Killing",
        " Container demo-worker-2  Killed",
        " Container demo-worker-2  Killing",
    ]
    ref = running.reference("kill", "worker")
    assert (ref.returncode, ref.stderr.strip()) == (0, "no container to kill")  # the reference has no newline
    assert (ours.returncode, running.composer("kill", "worker").stderr) == (0, "no container to kill\n")
