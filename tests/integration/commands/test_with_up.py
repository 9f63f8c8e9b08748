"""The commands on containers made by `composer up` (not by hand): logs -f follows a service across
a real recreation by the reconciler; exec, top and run see the same project."""

from __future__ import annotations

import pytest

from tests.integration.commands.conftest import Project
from tests.support.listeners import wait_for_listener

pytestmark = pytest.mark.root

COMPOSE = """\
name: demo
services:
  db:
    image: busybox:latest
    command: [sh, -c, "trap 'exit 0' TERM; echo db up; while true; do sleep 0.1; done"]
  web:
    image: busybox:latest
    depends_on: [db]
    command: [sh, -c, "trap 'exit 0' TERM; echo life $$(hostname); while true; do sleep 0.1; done"]
"""


def test_logs_follow_across_up_force_recreate(project: Project) -> None:
    (project.path / "compose.yaml").write_text(COMPOSE)
    project.composer("up", "-d", check=True)
    try:
        before = project.api.info()["NEventsListener"]
        proc = project.popen("logs", "-f", "--no-color", "web")
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            assert first.startswith("web-1  | life "), first
            wait_for_listener(project.api.info, before)  # the follower watches events: it sees the recreate
            project.composer("up", "-d", "--force-recreate", "--no-deps", "web", check=True)
            second = proc.stdout.readline()
            assert second.startswith("web-1  | life ") and second != first, (first, second)
        finally:
            proc.send_signal(2)
            _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err  # ended by Ctrl-C, as the reference
        top = project.composer("top", "web", check=True).stdout.splitlines()
        assert top[1].split()[:2] == ["web", "1"]
        hostname = project.composer("exec", "-T", "web", "hostname", check=True).stdout.strip()
        assert second.strip().endswith(hostname)
        ran = project.composer(
            "run", "--rm", "-T", "web", "sh", "-c", "ping -c1 -W2 db >/dev/null && echo db reachable"
        )
        assert (ran.returncode, ran.stdout) == (0, "db reachable\n"), ran.stderr
    finally:
        project.composer("down", "-t", "1")
    assert project.api.containers(all=True, filters={"label": ["com.docker.compose.project=demo"]}) == []
