"""The runtime behind a private engine, driven by the real docker CLI: the TTY is the container's own pty,
detached execs and healthcheck probes leave nothing behind, and `docker update` changes a running
container's cgroup limits."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.runtime.cgroups import Cgroup
from engine.runtime.state import pid_alive
from tests.e2e.helpers import DOCKER, client_env
from tests.support.engine import EngineProcess, running_engine

pytestmark = pytest.mark.root


class Cli:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, *args: str, rc: int = 0) -> str:
        """Runs `docker args...`; stdout as bytes decoded without newline translation (a TTY's CR LF)."""
        proc = subprocess.run([DOCKER, *args], capture_output=True, env=self.env, timeout=60, check=False)
        assert proc.returncode == rc, (args, proc.returncode, proc.stderr.decode(errors="replace"))
        return proc.stdout.decode(errors="replace")


@pytest.fixture(scope="module")
def engine() -> Iterator[EngineProcess]:
    with running_engine() as eng:
        yield eng


@pytest.fixture
def docker(engine: EngineProcess, tmp_path: Path) -> Iterator[Cli]:
    cli = Cli(client_env(engine.socket_path, tmp_path))
    try:
        yield cli
    finally:
        ids = cli("ps", "-aq").split()
        if ids:
            cli("rm", "-f", *ids)


def runtime_dir(engine: EngineProcess, docker: Cli, name: str) -> Path:
    cid = docker("inspect", "-f", "{{.Id}}", name).strip()
    return engine.exec_root / "runtime" / cid


def wait_for(predicate, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


@pytest.mark.parametrize("how", ["run", "exec"])
def test_tty_is_a_pty_of_the_containers_devpts(docker: Cli, how: str) -> None:
    if how == "exec":
        docker("run", "-d", "--name", "tty-target", "busybox", "sleep", "300")
        args = ["exec", "-t", "tty-target"]
    else:
        args = ["run", "--rm", "-t", "busybox"]
    # cooked mode (CR LF), /dev/pts/N of the container's devpts (its ptmx made it), and for run the
    # same pty bound at /dev/console, as runc does
    script = "tty; stat -c %d:%i $(tty) /dev/console; ls /dev/pts"
    out = docker(*args, "sh", "-c", script)
    lines = out.split("\r\n")
    assert re.fullmatch(r"/dev/pts/\d+", lines[0]), out
    number = lines[0].rsplit("/", 1)[1]
    assert number in lines[3].split(), out
    if how == "run":
        assert lines[1] == lines[2], out  # /dev/console is the same pty


def test_tty_belongs_to_the_containers_user(docker: Cli) -> None:
    script = "stat -c %u $(tty); echo ok > $(tty)"
    out = docker("run", "--rm", "-t", "-u", "1000:1000", "busybox", "sh", "-c", script)
    assert out == "1000\r\nok\r\n", out


def test_detached_exec_monitor_ends_with_its_process(engine: EngineProcess, docker: Cli) -> None:
    docker("run", "-d", "--name", "detached", "busybox", "sleep", "300")
    docker("exec", "-d", "detached", "sh", "-c", "echo quick")
    rdir = runtime_dir(engine, docker, "detached")
    pidfiles = list(rdir.glob("exec-*.monitor.pid"))
    assert len(pidfiles) == 1
    monitor = int(pidfiles[0].read_text())
    # without hold_output=False it would wait 30 s for a client that never comes
    assert wait_for(lambda: not pid_alive(monitor), timeout=60), "detached exec's monitor lingers"
    status = json.loads(next(rdir.glob("exec-*.status.json")).read_text())
    assert (status["status"], status["exit_code"]) == ("exited", 0)


def test_healthcheck_probes_leave_no_files(engine: EngineProcess, docker: Cli) -> None:
    docker("run", "-d", "--name", "probed", "--health-cmd", "true", "--health-interval", "200ms",
           "busybox", "sleep", "300")
    health = ("inspect", "-f", "{{.State.Health.Status}}", "probed")
    assert wait_for(lambda: docker(*health).strip() == "healthy")
    probes = ("inspect", "-f", "{{json .State.Health.Log}}", "probed")
    assert wait_for(lambda: len(json.loads(docker(*probes))) >= 3, timeout=60)  # several more probes
    rdir = runtime_dir(engine, docker, "probed")
    sockets = list((rdir.parent / "s").glob(f"{rdir.name[:12]}-*.sock"))
    leftovers = list(rdir.glob("exec-*"))
    assert len(leftovers) <= 4 and len(sockets) <= 1, leftovers  # at most the probe in flight


def _cgroup(engine: EngineProcess, docker: Cli, name: str) -> Cgroup:
    spec = json.loads((runtime_dir(engine, docker, name) / "config.json").read_text())
    return Cgroup(spec["linux"]["cgroupsPath"])


def _read(cg: Cgroup, v1_controller: str, v1_file: str, v2_file: str) -> str:
    if cg.version == 2:
        return (cg.dirs()["unified"] / v2_file).read_text().strip()
    return (cg.dirs()[v1_controller] / v1_file).read_text().strip()


def test_update_changes_a_running_containers_limits(engine: EngineProcess, docker: Cli) -> None:
    docker("run", "-d", "--name", "upd", "busybox", "sleep", "300")
    cg = _cgroup(engine, docker, "upd")
    docker("update", "--memory", "64m", "--memory-swap", "128m", "--cpus", "0.5", "--pids-limit", "50",
           "--cpu-shares", "512", "upd")
    assert _read(cg, "memory", "memory.limit_in_bytes", "memory.max") == str(64 << 20)
    assert _read(cg, "pids", "pids.max", "pids.max") == "50"
    if cg.version == 2:
        assert _read(cg, "cpu", "", "cpu.max") == "50000 100000"
    else:
        assert _read(cg, "cpu", "cpu.cfs_quota_us", "") == "50000"
        assert _read(cg, "cpu", "cpu.shares", "") == "512"
    host_config = json.loads(docker("inspect", "-f", "{{json .HostConfig}}", "upd"))
    recorded = (host_config["Memory"], host_config["NanoCpus"], host_config["PidsLimit"])
    assert recorded == (64 << 20, 500_000_000, 50)
    # a second update raises the limit again; the container keeps running throughout
    docker("update", "--memory", "96m", "--memory-swap", "192m", "upd")
    assert _read(cg, "memory", "memory.limit_in_bytes", "memory.max") == str(96 << 20)
    assert docker("inspect", "-f", "{{.State.Status}}", "upd").strip() == "running"


def test_update_below_usage_is_one_clear_error(docker: Cli) -> None:
    docker("run", "-d", "--name", "upd-low", "busybox", "sh", "-c",
           "dd if=/dev/zero of=/dev/shm/fill bs=1M count=16 2>/dev/null; touch /filled; sleep 300")
    filled = ("exec", "upd-low", "ls", "/filled")
    # the 16 MiB are charged before the update tries to go below them
    assert wait_for(
        lambda: subprocess.run([DOCKER, *filled], env=docker.env, capture_output=True).returncode == 0,
        timeout=60,
    )
    proc = subprocess.run([DOCKER, "update", "--memory", "6m", "--memory-swap", "6m", "upd-low"],
                          capture_output=True, env=docker.env, timeout=60, check=False, text=True)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and proc.stderr.strip().count("\n") == 0, proc.stderr
    host_config = json.loads(docker("inspect", "-f", "{{json .HostConfig}}", "upd-low"))
    assert host_config["Memory"] == 0  # the record did not change
