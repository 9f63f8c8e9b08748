"""The docker CLI: exec (plain and -it), run -it under a real terminal (tmux), and cp both ways."""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import DockerCLI, Tmux, docker_command

pytestmark = [pytest.mark.e2e, pytest.mark.root]


@pytest.fixture
def sleeper(docker: DockerCLI) -> str:
    docker("run", "-d", "--name", "e2e-exec", "busybox", "sleep", "300")
    return "e2e-exec"


@pytest.fixture
def tmux(docker: DockerCLI, request: pytest.FixtureRequest) -> Iterator[Tmux]:
    term = Tmux(docker.env, request.node.name[:20])
    try:
        yield term
    finally:
        term.close()


def test_exec_output_env_and_exit_code(docker: DockerCLI, sleeper: str) -> None:
    assert docker("exec", sleeper, "sh", "-c", "echo $((6*7))").out == "42\n"
    assert (
        docker("exec", "-e", "WHO=e2e", "-w", "/tmp", sleeper, "sh", "-c", "echo $WHO $(pwd)").out
        == "e2e /tmp\n"
    )
    assert docker("exec", "-u", "app", sleeper, "id", "-un").out == "app\n"
    assert docker("exec", sleeper, "sh", "-c", "exit 4", rc=4).out == ""
    assert docker("exec", "-i", sleeper, "cat", input="piped stdin\n").out == "piped stdin\n"


def test_exec_it_through_a_terminal(docker: DockerCLI, sleeper: str, tmux: Tmux) -> None:
    tmux.send_line(docker_command(["exec", "-it", sleeper, "sh"]))
    tmux.wait_for("/ #")
    tmux.send_line("echo cols=$(stty size)")
    screen = tmux.wait_for("cols=", count=2)  # the typed line, then the output
    assert re.search(r"cols=\d+ 160", screen), screen  # the CLI sent the terminal's size
    tmux.send_line("exit 9")
    tmux.wait_for("host$", count=2)  # the CLI has exited: the host shell prompts again
    tmux.send_line("echo rc=$?")
    tmux.wait_for("rc=9")


@pytest.mark.parametrize("how", ["run", "exec"])
def test_tty_is_the_containers_own_pty(docker: DockerCLI, sleeper: str, how: str) -> None:
    """As with dockerd, the terminal is a pty of the container's own devpts (`tty` names /dev/pts/N) in its
    default cooked mode (output newlines become CR LF)."""
    args = ["run", "--rm", "-t", "busybox"] if how == "run" else ["exec", "-t", sleeper]
    # bytes input keeps the output undecoded by universal newlines, so the pty's CR LF stays visible
    out = docker(*args, "sh", "-c", "tty; echo done", input=b"").out
    assert re.fullmatch(r"/dev/pts/\d+\r\ndone\r\n", out), out


def test_run_it_through_a_terminal(docker: DockerCLI, tmux: Tmux) -> None:
    tmux.send_line(docker_command(["run", "-it", "--rm", "--name", "e2e-runit", "busybox", "sh"]))
    tmux.wait_for("/ #")
    tmux.send_line("echo interactive-$((40+2))")
    tmux.wait_for("interactive-42")
    tmux.send_keys("C-d")  # EOF on the terminal ends the shell
    tmux.wait_for("host$", count=2)
    tmux.send_line("echo rc=$?")
    tmux.wait_for("rc=0")
    assert docker("ps", "-a", "--filter", "name=e2e-runit", "-q").out == ""


def test_cp_both_ways(docker: DockerCLI, sleeper: str, tmp_path: Path) -> None:
    docker("exec", sleeper, "sh", "-c", "mkdir -p /data/sub && echo from-container > /data/sub/file.txt")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    docker("cp", f"{sleeper}:/data", str(out_dir))
    assert (out_dir / "data/sub/file.txt").read_text() == "from-container\n"

    src = tmp_path / "host.txt"
    src.write_text("from-host\n")
    src.chmod(0o640)
    docker("cp", str(src), f"{sleeper}:/tmp/copied.txt")
    assert docker("exec", sleeper, "cat", "/tmp/copied.txt").out == "from-host\n"
    assert docker("exec", sleeper, "stat", "-c", "%a", "/tmp/copied.txt").out == "640\n"

    # a tar stream on stdin, as `docker cp - c:/dir` takes it
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("streamed.txt")
        payload = b"via-stdin\n"
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    docker("cp", "-", f"{sleeper}:/tmp", input=buf.getvalue())
    assert docker("exec", sleeper, "cat", "/tmp/streamed.txt").out == "via-stdin\n"
    missing = docker("cp", f"{sleeper}:/no/such/path", str(out_dir), rc=1)
    assert "Could not find the file /no/such/path in container" in missing.err
