"""`composer exec`: output streams, exit codes, stdin, -e/-w/-u, --index, -d."""

from __future__ import annotations

import time

import pytest

from tests.integration.commands.conftest import Project

pytestmark = pytest.mark.root


def test_exec_passes_stdout_stderr_and_the_exit_code(project: Project) -> None:
    project.container("web")
    result = project.composer("exec", "-T", "web", "sh", "-c", "echo out; echo err >&2; exit 5")
    assert (result.returncode, result.stdout, result.stderr) == (5, "out\n", "err\n")


def test_exec_forwards_stdin_until_eof(project: Project) -> None:
    project.container("web")
    result = project.composer("exec", "-T", "web", "sh", "-c", "tr a-z A-Z", input=b"hello\n")
    assert (result.returncode, result.stdout) == (0, "HELLO\n")


def test_exec_env_workdir_user_and_index(project: Project) -> None:
    project.container("web", 1)
    project.container("web", 2, hostname="second")
    result = project.composer(
        "exec", "-T", "--index", "2", "-e", "GREETING=hi", "-w", "/tmp", "-u", "65534",
        "web", "sh", "-c", 'echo "$GREETING $(pwd) $(id -u) $(hostname)"', check=True,
    )  # fmt: skip
    assert result.stdout == "hi /tmp 65534 second\n"


def test_exec_detached_returns_at_once(project: Project) -> None:
    web = project.container("web")
    # the command waits for a flag only the test makes after `exec -d` returned: an exec that waited for
    # its command would never return (the call's timeout); no wall-clock bound needed
    script = "until [ -e /tmp/go ]; do sleep 0.05; done; echo done > /tmp/marker"
    project.composer("exec", "-d", "web", "sh", "-c", script, check=True)
    project.api.exec_start(project.api.exec_create(web, ["touch", "/tmp/go"]))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        check = project.api.exec_create(web, ["cat", "/tmp/marker"])
        if project.api.exec_start(check) == b"done\n":
            return
        time.sleep(0.2)
    raise AssertionError("the detached command never ran")


def test_exec_in_a_service_that_is_not_running(project: Project) -> None:
    result = project.composer("exec", "-T", "worker", "true")
    assert (result.returncode, result.stderr) == (1, 'service "worker" is not running\n')


def test_exec_on_a_terminal_allocates_a_tty(project: Project) -> None:
    import os
    import pty
    import subprocess
    import sys

    from tests.integration.commands.conftest import _env

    project.container("web")
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "composer.cli.main",
                "exec",
                "web",
                "sh",
                "-c",
                "[ -t 0 ] && [ -t 1 ] && echo on-a-tty; exit 2",
            ],
            cwd=project.path,
            env={**_env(), "DOCKER_HOST": project.engine.docker_host},
            stdin=follower,
            stdout=follower,
            stderr=subprocess.PIPE,
        )
        os.close(follower)
        follower = -1
        output = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: every writer of the terminal is gone
                break
            if not chunk:
                break
            output += chunk
        _, err = proc.communicate(timeout=60)
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert proc.returncode == 2, err
    assert b"on-a-tty\r\n" in output, (
        output
    )  # stdin and stdout are a terminal (CRLF from its line discipline)
