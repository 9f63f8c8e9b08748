"""`composer logs`: prefixes, service choice, --tail, --no-log-prefix, -t, --merge, -f across recreation."""

from __future__ import annotations

import datetime
import re
import time

import pytest

from tests.integration.commands.conftest import Project
from tests.support.listeners import wait_for_listener

pytestmark = pytest.mark.root


def _wait_for_log(project: Project, cid: str, text: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in project.api.logs(cid).decode():
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {cid[:12]}'s log")


def test_logs_prefix_each_line_with_the_container_name(project: Project) -> None:
    web = project.container("web", cmd=["sh", "-c", "echo one; echo two; sleep 3600"])
    worker = project.container("worker", cmd=["sh", "-c", "echo ready; sleep 3600"])
    _wait_for_log(project, web, "two")
    _wait_for_log(project, worker, "ready")
    lines = project.composer("logs", "--no-color", check=True).stdout.splitlines()
    # as the reference, a name is padded to one past the widest name printed so far
    assert "worker-1  | ready" in lines
    web_lines = [ln for ln in lines if ln.startswith("web-1")]
    assert web_lines in (["web-1  | one", "web-1  | two"], ["web-1     | one", "web-1     | two"]), lines


def test_logs_of_one_service_with_tail_and_without_prefix(project: Project) -> None:
    web = project.container("web", cmd=["sh", "-c", "for i in 1 2 3 4; do echo line$i; done; sleep 3600"])
    project.container("worker")
    _wait_for_log(project, web, "line4")
    result = project.composer("logs", "--no-log-prefix", "--tail", "2", "web", check=True)
    assert result.stdout == "line3\nline4\n"


def test_logs_timestamps_are_rfc3339(project: Project) -> None:
    web = project.container("web", cmd=["sh", "-c", "echo stamped; sleep 3600"])
    _wait_for_log(project, web, "stamped")
    out = project.composer("logs", "-t", "--no-color", "web", check=True).stdout
    assert re.fullmatch(r"web-1  \| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z stamped\n", out), out


def test_logs_merge_orders_lines_by_time_across_containers(project: Project) -> None:
    a = project.container("web", cmd=["sh", "-c", "echo a1; sleep 1; echo a2; sleep 1; echo a3; sleep 3600"])
    b = project.container("worker", cmd=["sh", "-c", "sleep 0.5; echo b1; sleep 1; echo b2; sleep 3600"])
    _wait_for_log(project, a, "a3")
    _wait_for_log(project, b, "b2")
    out = project.composer("logs", "--merge", "--no-log-prefix", check=True).stdout
    # the order the engine's own timestamps give (read with docker-py), and it interleaves the two
    stamped = []
    for cid in (a, b):
        for raw in project.api.logs(cid, timestamps=True).decode().splitlines():
            stamp, _, text = raw.partition(" ")
            stamp = stamp.rstrip("Z")
            whole, _, frac = stamp.partition(".")
            stamped.append((whole, frac.ljust(9, "0"), text))
    assert out.split() == [text for *_, text in sorted(stamped)]
    assert out.split() != ["a1", "a2", "a3", "b1", "b2"]


def test_logs_unknown_service_is_one_line(project: Project) -> None:
    result = project.composer("logs", "nope")
    assert result.returncode == 1
    assert result.stderr.strip() == "no such service: nope"


def test_logs_follow_continues_into_a_recreated_container(project: Project) -> None:
    old = project.container("web", cmd=["sh", "-c", "echo first life; sleep 3600"])
    _wait_for_log(project, old, "first life")
    before = project.api.info()["NEventsListener"]
    proc = project.popen("logs", "-f", "--no-color", "web")
    try:
        wait_for_listener(project.api.info, before)  # the follower is attached and watching events
        project.api.remove_container(old, force=True)
        project.container("web", cmd=["sh", "-c", "echo second life; sleep 3600"])
        deadline = time.monotonic() + 10
        seen: list[str] = []
        assert proc.stdout is not None
        while time.monotonic() < deadline and "web-1  | second life" not in seen:
            seen.append(proc.stdout.readline().rstrip("\n"))
        assert seen[0] == "web-1  | first life"
        assert "web-1  | second life" in seen
    finally:
        proc.send_signal(2)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err  # ended by Ctrl-C, as the reference


def test_logs_colour_prefixes_with_ansi_always(project: Project) -> None:
    web = project.container("web", cmd=["sh", "-c", "echo tinted; sleep 3600"])
    _wait_for_log(project, web, "tinted")
    out = project.composer("--ansi", "always", "logs", "web", check=True).stdout
    assert re.fullmatch(r"\x1b\[[0-9;]+mweb-1  \|\x1b\[0m tinted\n", out), repr(out)
    plain = project.composer("--ansi", "always", "logs", "--no-color", "web", check=True).stdout
    assert plain == "web-1  | tinted\n"


def test_logs_since_and_until(project: Project) -> None:
    web = project.container("web", cmd=["sh", "-c", "echo early; sleep 2; echo late; sleep 3600"])
    _wait_for_log(project, web, "late")
    recent = project.composer("logs", "--no-log-prefix", "--since", "1s", "web", check=True).stdout
    assert recent == "late\n"
    first = project.api.logs(web, timestamps=True).decode().splitlines()[0].split(" ")[0]
    moment = datetime.datetime.fromisoformat(first[:26].rstrip("Z") + "+00:00") + datetime.timedelta(
        seconds=1
    )
    until = moment.strftime("%Y-%m-%dT%H:%M:%SZ")  # between the two lines, as an absolute time
    old = project.composer("logs", "--no-log-prefix", "--until", until, "web", check=True).stdout
    assert old == "early\n"
    bad = project.composer("logs", "--since", "yesterday-ish")
    assert (bad.returncode, bad.stderr.count("\n")) == (1, 1)


def test_logs_follow_ends_by_itself_when_nothing_runs_any_more(project: Project) -> None:
    project.container("web", cmd=["sh", "-c", "echo short life; sleep 1"])
    started = time.monotonic()
    result = project.composer("logs", "-f", "--no-color", timeout=30, check=True)
    assert result.stdout == "web-1  | short life\n"
    assert time.monotonic() - started < 15


def test_logs_merge_follow_continues_without_gaps_or_repeats(project: Project) -> None:
    web = project.container("web", cmd=["sh", "-c", "echo w1; sleep 2; echo w2; sleep 3600"])
    worker = project.container(
        "worker", cmd=["sh", "-c", "sleep 0.3; echo k1; sleep 2.5; echo k2; sleep 3600"]
    )
    _wait_for_log(project, web, "w1")
    _wait_for_log(project, worker, "k1")
    proc = project.popen("logs", "-f", "--merge", "--no-log-prefix")
    try:
        assert proc.stdout is not None
        seen = [proc.stdout.readline().strip() for _ in range(4)]
    finally:
        proc.send_signal(2)
        _, err = proc.communicate(timeout=10)
    assert seen == ["w1", "k1", "w2", "k2"], err
