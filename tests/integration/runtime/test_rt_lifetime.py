"""Monitors outlive the process that started them; runc runs the bundles we build."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from engine.errors import InvalidParameter
from engine.runtime import Runtime
from tests.integration.runtime.rt_support import attach, read_attach, runtime_box

pytestmark = pytest.mark.root

STARTER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from engine.runtime import Runtime, build_spec, resolve_user
    exec_root, rootfs, parent = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    log = Path(sys.argv[4])
    rt = Runtime(exec_root)
    spec = build_spec({"Cmd": ["sh", "-c", "echo up; sleep 100"]}, {}, rootfs=rootfs, mounts=[],
                      hostname="c1", cgroups_path=f"/{parent}/c1", netns_path=None,
                      user=resolve_user(rootfs, ""))
    state = rt.start("c1", spec, log_path=log, log_opts={}, tty=False, open_stdin=False)
    print(state.pid, flush=True)
    time.sleep(100)
""")


def test_monitor_survives_its_starter_being_killed(box, tmp_path):
    exec_root = tmp_path / "exec"  # the same exec-root as box.rt, so box cleans up what the starter made
    proc = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(exec_root), str(box.rootfs), box.parent, str(box.log_path("c1"))],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.getcwd(),
    )
    box.started.append("c1")
    try:
        assert proc.stdout is not None
        pid = int(proc.stdout.readline())
        proc.kill()  # kill -9 of the "daemon"; its zygote exits on EOF, the monitor must not
        proc.wait()
        time.sleep(0.2)
        # A new Runtime (a restarted daemon) re-adopts the container from status.json.
        rt = Runtime(exec_root)
        assert proc.poll() is not None
        state = rt.state("c1")
        assert state.status == "running" and state.pid == pid
        os.kill(pid, 0)
        rt.kill("c1", signal.SIGKILL)
        assert box.wait().exit_code == 137
        assert box.output() == "up\n"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture
def runc_box(busybox_rootfs, tmp_path):
    with runtime_box(tmp_path / "exec-runc", busybox_rootfs, tmp_path, binary="runc") as b:
        yield b


def test_runc_runs_our_bundle(runc_box):
    state, out = runc_box.run(
        [
            "sh",
            "-c",
            "hostname; echo $$; grep CapEff /proc/self/status; "
            "id -u; ls /dev/shm >/dev/null && echo shm; exit 7",
        ],
        cid="runc1",
        config={"User": "app"},
    )
    assert state.exit_code == 7
    assert out.splitlines() == ["runc1", "1", "CapEff:\t0000000000000000", "1000", "shm"]


def test_runc_exec_not_found_is_127(runc_box):
    with pytest.raises(InvalidParameter, match="executable file not found"):
        runc_box.start(["nosuchcmd"], cid="runc2")
    assert runc_box.rt.state("runc2").exit_code == 127


def test_runc_kill_oom_and_tty(runc_box):
    runc_box.start(["sleep", "100"], cid="runc3")
    runc_box.rt.kill("runc3", signal.SIGKILL)
    assert runc_box.wait("runc3").exit_code == 137
    mib = 1024 * 1024
    state, _ = runc_box.run(
        ["tail", "/dev/zero"], cid="runc4", host={"Memory": 16 * mib, "MemorySwap": 16 * mib}
    )
    assert state.exit_code == 137 and state.oom_killed
    state, out = runc_box.run(
        ["sh", "-c", "[ -t 1 ] && echo tty-yes"], cid="runc5", tty=True, config={"Tty": True}
    )
    assert state.exit_code == 0 and "tty-yes" in out


def test_fresh_interpreter_monitor_without_zygote(box):
    box.rt.use_zygote = False
    state, out = box.run(["sh", "-c", "echo no-zygote; exit 4"])
    assert (state.exit_code, out) == (4, "no-zygote\n")
    box.start(["sleep", "100"], cid="c2")
    sock = box.rt.exec("c2", "e", {"args": ["echo", "exec-ok"]}, tty=False, open_stdin=False)
    with attach(sock) as client:
        out_b, _ = read_attach(client, tty=False)
    assert out_b == b"exec-ok\n"


def test_no_log_path_and_kill_while_paused(box):
    box.started.append("quiet")
    box.rt.start("quiet", box.spec(["sleep", "100"], cid="quiet"), log_path=None, log_opts={}, tty=False,
                 open_stdin=False)
    box.rt.pause("quiet")
    box.rt.kill("quiet", signal.SIGKILL)
    assert box.wait("quiet").exit_code == 137
    assert list(box.tmp.glob("quiet*")) == []


def test_runc_pause_resume_and_signal(runc_box):
    runc_box.start(["sh", "-c", "trap 'exit 9' TERM; echo armed; while :; do sleep 0.05; done"], cid="runc6")
    deadline = time.monotonic() + 60  # the trap is set once "armed" is out: a TERM before it is ignored
    while "armed" not in runc_box.output("runc6"):
        assert time.monotonic() < deadline, "the shell never armed its trap"
        time.sleep(0.02)
    runc_box.rt.pause("runc6")
    assert runc_box.rt.state("runc6").status == "paused"
    runc_box.rt.resume("runc6")
    assert runc_box.rt.state("runc6").status == "running"
    runc_box.rt.kill("runc6", signal.SIGTERM)
    assert runc_box.wait("runc6").exit_code == 9


def test_runc_privileged_and_readonly(runc_box):
    state, out = runc_box.run(["sh", "-c", "grep CapEff /proc/self/status; touch /x 2>/dev/null || echo ro"],
                              cid="runc7", host={"Privileged": True, "ReadonlyRootfs": True})
    with open("/proc/self/status") as f:
        held = next(line.split()[1] for line in f if line.startswith("CapBnd:"))
    assert state.exit_code == 0
    assert out.splitlines() == [f"CapEff:\t{held}", "ro"]


def test_container_outlives_a_killed_monitor(box):
    box.rt.warm()
    state = box.start(["sleep", "100"])
    monitor_pid = int(json.loads(box.rt._places("c1").status.read_text())["monitor_pid"])
    os.kill(monitor_pid, signal.SIGKILL)
    time.sleep(0.1)
    assert box.rt.state("c1").status == "running"
    fd = box.rt.exit_fd("c1")  # now the container's own pidfd
    try:
        assert select.select([fd], [], [], 0)[0] == []
        os.kill(state.pid, signal.SIGKILL)
        assert select.select([fd], [], [], 30)[0] == [fd]
    finally:
        os.close(fd)
    deadline = time.monotonic() + 30  # the killed monitor is gone (reaped or a zombie) soon, not at once
    while (after := box.rt.state("c1")).status == "running" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (after.status, after.exit_code) == ("exited", 255)


def test_runc_applies_the_same_seccomp_profile(runc_box):
    _, out = runc_box.run(["sh", "-c", "unshare -U true 2>/dev/null && echo allowed || echo denied; "
                                       "grep Seccomp: /proc/self/status"], cid="runc8")
    assert out.split() == ["denied", "Seccomp:", "2"]
