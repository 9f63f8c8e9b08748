"""Attach (TTY and stdcopy), stdin, exec, pause/resume, stats, top, log rotation."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import time

import pytest

from engine.errors import Conflict, InvalidParameter
from tests.integration.runtime.rt_support import attach, read_attach

pytestmark = pytest.mark.root


def test_attach_before_start_gets_all_output_framed(box):
    # hold=True is attach-before-start (docker run without -d): output waits for the first client.
    box.start(["sh", "-c", "echo out; echo err >&2"], hold=True)
    sock = attach(box.rt.attach_path("c1"))
    out, err = read_attach(sock, tty=False)
    sock.close()
    assert (out, err) == (b"out\n", b"err\n")
    assert box.wait().exit_code == 0


def test_stdin_via_attach_and_half_close_is_eof(box):
    box.start(["sh", "-c", "cat; echo done"], open_stdin=True)
    sock = attach(box.rt.attach_path("c1"), stdin=True)
    sock.sendall(b"line one\nline two\n")
    sock.shutdown(socket.SHUT_WR)
    out, _ = read_attach(sock, tty=False)
    sock.close()
    assert out == b"line one\nline two\ndone\n"
    assert box.wait().exit_code == 0


def test_tty_mode_interactive_shell(box):
    box.start(["sh"], tty=True, open_stdin=True, config={"Tty": True, "OpenStdin": True})
    box.rt.resize("c1", 40, 123)
    sock = attach(box.rt.attach_path("c1"), stdin=True)
    sock.sendall(b"[ -t 0 ] && echo IS-A-TTY; stty size; echo $TERM; "
                 b"[ -c /dev/console ] && echo CONS-OK; exit 3\n")
    raw, _ = read_attach(sock, tty=True)
    sock.close()
    text = raw.decode().replace("\r", "")
    assert "IS-A-TTY" in text
    assert "40 123" in text
    assert "xterm" in text
    assert "\nCONS-OK" in text
    assert box.wait().exit_code == 3
    assert "IS-A-TTY" in box.output()  # the log has the pty's output too


def test_exec_runs_in_the_container(box):
    box.start(["sh", "-c", "echo $$ > /tmp/initpid; sleep 100"], cid="target")
    sock_path = box.rt.exec(
        "target",
        "e1",
        {
            "args": [
                "sh",
                "-c",
                "hostname; cat /proc/1/cmdline; echo; readlink /proc/self/ns/mnt; id -u; exit 5",
            ],
            "user": {"uid": 1000, "gid": 1000, "additionalGids": []},
        },
        tty=False,
        open_stdin=False,
    )
    sock = attach(sock_path)
    out, _ = read_attach(sock, tty=False)
    sock.close()
    hostname, cmdline, mnt, uid = out.decode().splitlines()
    assert hostname == "target"
    assert cmdline == "sleep\x00100\x00"  # the container's PID 1, seen from the exec's pid namespace
    assert mnt != os.readlink("/proc/self/ns/mnt")
    assert uid == "1000"
    deadline = time.monotonic() + 30
    while box.rt.exec_state("target", "e1").status != "exited" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert box.rt.exec_state("target", "e1").exit_code == 5
    assert box.rt.state("target").status == "running"


def test_exec_with_tty_and_not_found(box):
    box.start(["sleep", "100"])
    sock = attach(
        box.rt.exec("c1", "t", {"args": ["sh", "-c", "[ -t 1 ] && echo tty-yes"]}, tty=True, open_stdin=False)
    )
    raw, _ = read_attach(sock, tty=True)
    sock.close()
    assert b"tty-yes" in raw
    with pytest.raises(InvalidParameter, match="executable file not found"):
        box.rt.exec("c1", "nf", {"args": ["nosuch"]}, tty=False, open_stdin=False)
    assert box.rt.exec_state("c1", "nf").exit_code == 127


def test_pause_and_resume(box):
    box.start(["sh", "-c", "while :; do date +%s%N > /tmp/t; sleep 0.05; done"])
    box.rt.pause("c1")
    assert box.rt.state("c1").status == "paused"
    with pytest.raises(Conflict):
        box.rt.pause("c1")
    box.rt.resume("c1")
    assert box.rt.state("c1").status == "running"
    box.rt.kill("c1", signal.SIGKILL)
    assert box.wait().exit_code == 137
    with pytest.raises(Conflict):
        box.rt.kill("c1", signal.SIGKILL)


def test_stats_and_top(box):
    mib = 1024 * 1024
    state = box.start(
        ["sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; sleep 100"],
        host={"Memory": 64 * mib, "PidsLimit": 50},
    )
    time.sleep(0.3)
    stats = box.rt.stats("c1")
    assert stats["memory_stats"]["limit"] == 64 * mib
    assert 0 < stats["memory_stats"]["usage"] <= 64 * mib
    assert stats["cpu_stats"]["cpu_usage"]["total_usage"] > 0
    assert len(stats["cpu_stats"]["cpu_usage"]["percpu_usage"]) >= 1
    assert stats["cpu_stats"]["system_cpu_usage"] > stats["cpu_stats"]["cpu_usage"]["total_usage"]
    assert stats["cpu_stats"]["online_cpus"] >= 1
    assert stats["pids_stats"]["current"] >= 1 and stats["pids_stats"]["limit"] == 50
    assert stats["read"].endswith("Z")
    assert state.pid in box.rt.top("c1")


def test_log_rotation(box):
    box.run(
        ["sh", "-c", "i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done"],
        log_opts={"max-size": "1k", "max-file": "3"},
    )
    log = box.log_path("c1")
    rotated = [log.with_name(log.name + ".1"), log.with_name(log.name + ".2")]
    assert all(p.exists() for p in rotated)
    assert not log.with_name(log.name + ".3").exists()
    for p in [log, *rotated]:
        assert p.stat().st_size <= 1024
        for line in p.read_text().splitlines():
            entry = json.loads(line)
            assert entry["stream"] == "stdout" and entry["log"].startswith("line-")
    assert json.loads(log.read_text().splitlines()[-1])["log"] == "line-199\n"


def test_exit_fd_becomes_readable_on_exit(box):
    # The container ends when the test says so (a file in its rootfs), not after a time that a slow
    # machine could overrun before the "not yet readable" check.
    box.start(["sh", "-c", "until [ -e /go ]; do sleep 0.02; done"])
    fd = box.rt.exit_fd("c1")
    try:
        assert select.select([fd], [], [], 0)[0] == []
        (box.rootfs / "go").touch()
        assert select.select([fd], [], [], 30)[0] == [fd]
    finally:
        os.close(fd)
    assert box.rt.state("c1").exit_code == 0


def test_exec_stdin_and_output_kept_for_a_late_client(box):
    box.start(["sleep", "100"])
    sock_path = box.rt.exec("c1", "in", {"args": ["sh", "-c", "echo early; cat | tr a-z A-Z"]}, tty=False,
                            open_stdin=True)
    time.sleep(0.2)  # "early" is written before anyone attaches: the exec monitor keeps it
    with attach(sock_path, stdin=True) as sock:
        sock.sendall(b"quiet\n")
        sock.shutdown(socket.SHUT_WR)
        out, _ = read_attach(sock, tty=False)
    assert out == b"early\nQUIET\n"


def test_concurrent_starts_from_threads(box):
    from concurrent.futures import ThreadPoolExecutor

    ids = [f"par{i}" for i in range(6)]
    with ThreadPoolExecutor(6) as pool:
        states = list(pool.map(lambda cid: box.start(["sh", "-c", f"echo {cid}"], cid=cid), ids))
    assert len({s.pid for s in states}) == 6
    for cid in ids:
        assert box.wait(cid).exit_code == 0
        assert box.output(cid) == f"{cid}\n"


def test_update_resources_of_a_running_container(box):
    mib = 1024 * 1024
    box.start(["sleep", "100"], host={"Memory": 32 * mib, "PidsLimit": 10})
    box.rt.update("c1", {"memory": {"limit": 48 * mib, "swap": 96 * mib}, "pids": {"limit": 20}})
    stats = box.rt.stats("c1")
    assert stats["memory_stats"]["limit"] == 48 * mib and stats["pids_stats"]["limit"] == 20
    # above the current memory+swap: memsw has to be raised first
    box.rt.update("c1", {"memory": {"limit": 200 * mib, "swap": 400 * mib}})
    assert box.rt.stats("c1")["memory_stats"]["limit"] == 200 * mib
    with pytest.raises(InvalidParameter, match="Cannot update container c1"):
        box.rt.update("c1", {"memory": {"limit": 1}})  # below what the container already uses


def test_domainname(box):
    _, out = box.run(["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"],
                     config={"Domainname": "example.test"})
    assert out.split() == ["c1", "example.test"]
