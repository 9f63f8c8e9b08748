"""The native monitor in a real runtime: it serves every container from the first start on, it is built
once per source and exec root (before that first start), and without a working compiler every start fails
with the reason instead of running a container nobody serves."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from engine.errors import SystemError_
from engine.runtime import Runtime, native
from engine.runtime.native import Program
from engine.runtime.state import Places, read_status
from tests.integration.runtime.rt_support import Box, attach, read_attach, runtime_box

pytestmark = pytest.mark.root


def monitor_pid(box: Box, cid: str) -> int:
    data = read_status(box.rt._places(cid))
    assert data is not None
    return int(data["monitor_pid"])


def monitor_exe(pid: int) -> str:
    return os.readlink(f"/proc/{pid}/exe")


def monitor_log(box: Box, cid: str) -> str:
    path = Places(box.rt._places(cid).dir).errlog
    return path.read_text() if path.exists() else ""


def run_with_attach(box: Box, cid: str) -> bool:
    """A container that answers stdin on both streams, attached while it runs; True if its monitor (once
    serving: it answered) is the native one."""
    box.start(["sh", "-c", "read x; echo out-$x; echo err-$x >&2; cat"], cid=cid, open_stdin=True)
    pid = monitor_pid(box, cid)
    sock = attach(box.rt.attach_path(cid), stdin=True)
    sock.sendall(b"hi\n")
    sock.settimeout(10)
    raw = b""
    while len(raw) < 2 * (8 + len(b"out-hi\n")):  # both frames: the serve loop (final) is running
        chunk = sock.recv(4096)
        assert chunk, raw
        raw += chunk
    is_native = monitor_exe(pid).startswith(str(box.rt.root.parent / "native"))
    sock.shutdown(socket.SHUT_WR)  # EOF for `cat`
    rest = read_attach(sock, tty=False)
    sock.close()
    assert rest == (b"", b"")
    assert raw == b"\x01\0\0\0\0\0\0\x07out-hi\n\x02\0\0\0\0\0\0\x07err-hi\n"
    assert box.wait(cid).exit_code == 0
    assert box.output(cid, "stdout") == "out-hi\n" and box.output(cid, "stderr") == "err-hi\n"
    places = box.rt._places(cid)
    raw = places.status.read_text()  # byte for byte what state.write_status writes
    record = json.loads(raw)
    assert raw == json.dumps(record, separators=(",", ":"), sort_keys=True)
    assert set(record) == {"status", "pid", "exit_code", "oom_killed", "started_at", "finished_at", "error",
                           "monitor_pid"}
    assert [record[k] for k in ("status", "exit_code", "oom_killed", "error")] == ["exited", 0, False, ""]
    assert record["monitor_pid"] == pid and record["finished_at"] > record["started_at"]
    assert [p.name for p in places.dir.iterdir() if ".tmp" in p.name] == []
    assert not places.socket.exists()  # unlinked: it was still ours
    return is_native


def native_dir(box: Box) -> Path:
    return box.rt.root.parent / "native"


def wait_native(box: Box, pid: int) -> None:
    """Until the monitor runs the native binary's main: exec'd (argv[0]), and named cmon-<id> (right
    after the execve the kernel names it after the binary's file, cmon-<hash>)."""
    deadline = time.monotonic() + 20
    while True:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv0 = f.read().split(b"\0")[0]
        with open(f"/proc/{pid}/comm") as f:
            comm = f.read().strip()
        exe = monitor_exe(pid)
        if argv0 == native.ARGV0.encode() and comm != Path(exe).name[:15]:
            return
        assert time.monotonic() < deadline, "the monitor did not become the native one"
        time.sleep(0.02)


def test_the_first_start_is_native(box: Box, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=native.__name__):
        assert run_with_attach(box, "n1") is True  # the build came first: nobody else served it
        assert run_with_attach(box, "n2") is True
    assert [r.getMessage().split(" path=")[0] for r in caplog.records] == ["container monitor built"]
    assert "native monitor" not in monitor_log(box, "n1")
    box.start(["sleep", "30"], cid="n3")
    pid = monitor_pid(box, "n3")
    wait_native(box, pid)
    with open(f"/proc/{pid}/comm") as f:
        assert f.read().strip() == "cmon-n3"
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[0] == native.ARGV0.encode()  # runtime._kill_monitor knows it
    with open(f"/proc/{pid}/status") as f:
        rss_kib = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    assert rss_kib < 4096  # not an interpreter
    box.rt.kill("n3", signal.SIGKILL)
    assert box.wait("n3").exit_code == 137


def test_second_engine_start_reuses_the_build_and_adopts(box: Box, tmp_path: Path) -> None:
    box.start(["sh", "-c", "echo up; sleep 30"], cid="a1")
    wait_native(box, monitor_pid(box, "a1"))
    exe = native_dir(box) / f"cmon-{native.source_key()}"
    built = exe.stat()
    box.rt.close()  # the daemon goes away (its zygote exits); the monitor and container stay
    native._shared.pop(native_dir(box))  # a new daemon process: nothing remembered but the files
    rt2 = Runtime(tmp_path / "exec")
    try:
        state = rt2.state("a1")
        assert state.status == "running"
        box2 = Box(rt2, box.rootfs, tmp_path)
        box2.parent = box.parent
        box.started.append("a2")
        assert run_with_attach(box2, "a2") is True
        after = exe.stat()
        assert (after.st_ino, after.st_mtime_ns) == (built.st_ino, built.st_mtime_ns)  # not built again
        rt2.kill("a1", signal.SIGKILL)
        assert box2.wait("a1").exit_code == 137 and box2.output("a1") == "up\n"
    finally:
        rt2.close()


def fake_path(tmp_path: Path, cc: str | None) -> str:
    """A PATH with busybox's tools (none is a compiler) and, if given, a `cc` script."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("sh", "true"):
        (bin_dir / tool).symlink_to("/bin/busybox")
    if cc is not None:
        (bin_dir / "cc").write_text(cc)
        (bin_dir / "cc").chmod(0o755)
    return str(bin_dir)


def assert_start_fails(box: Box, cid: str, message: str) -> None:
    with pytest.raises(SystemError_) as caught:
        box.start(["true"], cid=cid)
    assert str(caught.value) == message
    assert not box.rt._places(cid).dir.exists()  # refused before anything was made


def test_without_a_compiler_every_start_fails_naming_it(
    monkeypatch: pytest.MonkeyPatch, busybox_rootfs: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("PATH", fake_path(tmp_path, None))
    message = ("the container monitor is not built and no C compiler (cc or gcc) is in PATH to build it: "
               "install a C compiler and libc's headers, e.g. `apt-get install gcc libc6-dev`")
    with caplog.at_level(logging.ERROR, logger=native.__name__), \
            runtime_box(tmp_path / "exec", busybox_rootfs, tmp_path) as b:
        assert_start_fails(b, "w1", message)
        assert_start_fails(b, "w2", message)
        with pytest.raises(SystemError_, match="no C compiler"):
            b.rt.exec("w1", "e1", {"args": ["true"]}, tty=False, open_stdin=False)
    assert [r.getMessage() for r in caplog.records] == [f"no container can start: {message}"]  # once


def test_a_broken_compiler_is_tried_once_and_named(
    monkeypatch: pytest.MonkeyPatch, busybox_rootfs: Path, tmp_path: Path
) -> None:
    calls = tmp_path / "cc-calls"
    cc = (f"#!/bin/sh\necho run >> {calls}\n"
          "echo 'cc: internal compiler error: broken on purpose' >&2\nexit 4\n")
    monkeypatch.setenv("PATH", fake_path(tmp_path, cc))
    with runtime_box(tmp_path / "exec", busybox_rootfs, tmp_path) as b:
        message = (f"the container monitor did not build with {tmp_path / 'bin' / 'cc'}: "
                   "cc: internal compiler error: broken on purpose (install a C compiler and libc's "
                   "headers, e.g. `apt-get install gcc libc6-dev`)")
        assert_start_fails(b, "b1", message)
        assert_start_fails(b, "b2", message)
        assert calls.read_text() == "run\n"
        assert sorted(p.name for p in native_dir(b).iterdir()) == [".lock"]


def test_a_monitor_program_that_cannot_run_fails_the_start(busybox_rootfs: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-monitor"
    with runtime_box(tmp_path / "exec", busybox_rootfs, tmp_path, monitor=Program(str(missing))) as b:
        with pytest.raises(SystemError_, match=f"the container monitor {missing} cannot be run"):
            b.start(["sleep", "30"], cid="m1")
        assert b.rt.state("m1").status == "exited"  # no process was started for it


def test_native_request_line_edge_cases(box: Box) -> None:
    box.start(["sh", "-c", "read x; echo got-$x; sleep 30"], cid="r1", open_stdin=True)
    wait_native(box, monitor_pid(box, "r1"))
    path = str(box.rt.attach_path("r1"))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as bad:  # not JSON: closed without an answer
        bad.settimeout(10)
        bad.connect(path)
        bad.sendall(b"{nope\n")
        assert bad.recv(100) == b""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as resize:  # no TTY: still answered
        resize.settimeout(10)
        resize.connect(path)
        resize.sendall(b'{"resize": [30, 100]}\n')
        assert resize.recv(100) == b"{}\n"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(path)
        sock.sendall(b'{"stdin": true, ')  # the request line in two pieces, stdin right after it
        time.sleep(0.1)
        sock.sendall(b'"stdout": 1, "stderr": false, "x": [1, {"y": null}]}\nfirst\n')
        raw = b""
        while len(raw) < 8 + len(b"got-first\n"):
            chunk = sock.recv(4096)
            assert chunk
            raw += chunk
        assert raw == b"\x01\0\0\0\0\0\0\x0agot-first\n"
    box.rt.kill("r1", signal.SIGKILL)
    assert box.wait("r1").exit_code == 137


def test_concurrent_first_starts_build_once(box: Box, tmp_path: Path) -> None:
    cids = [f"k{i}" for i in range(4)]
    with ThreadPoolExecutor(len(cids)) as pool:
        list(pool.map(lambda cid: box.start(["sleep", "30"], cid=cid), cids))
    left = sorted(p.name for p in native_dir(box).iterdir())
    assert left == [".lock", f"cmon-{native.source_key()}"]  # built once (no tmp file left)
    for cid in cids:
        box.rt.kill(cid, signal.SIGKILL)
        assert box.wait(cid).exit_code == 137


def test_exec_and_runc_monitors_go_native_too(box: Box, busybox_rootfs: Path, tmp_path: Path) -> None:
    box.start(["sleep", "100"], cid="x1")
    sock_path = box.rt.exec("x1", "e1", {"args": ["sh", "-c", "echo early; cat; exit 3"]}, tty=False,
                            open_stdin=True)
    pid = int(Places(box.rt._places("x1").dir, "e1").pidfile.read_text())
    wait_native(box, pid)  # the exec's output waits in its hold buffer for the first client
    with open(f"/proc/{pid}/comm") as f:
        assert f.read().strip() == "cmon-x1-e"
    with attach(sock_path, stdin=True) as sock:
        sock.sendall(b"late\n")
        sock.shutdown(socket.SHUT_WR)
        assert read_attach(sock, tty=False) == (b"early\nlate\n", b"")
    deadline = time.monotonic() + 10
    while box.rt.exec_state("x1", "e1").status != "exited":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert box.rt.exec_state("x1", "e1").exit_code == 3

    with runtime_box(tmp_path / "exec-runc", busybox_rootfs, tmp_path, binary="runc") as runc_box:
        runc_box.start(["sh", "-c", "echo hi; sleep 30"], cid="rn1")
        wait_native(runc_box, monitor_pid(runc_box, "rn1"))
        runc_box.rt.kill("rn1", signal.SIGKILL)
        assert runc_box.wait("rn1").exit_code == 137 and runc_box.output("rn1") == "hi\n"




def test_a_monitor_that_fails_its_execve_ends_and_records_the_container(
    busybox_rootfs: Path, tmp_path: Path
) -> None:
    """Executable but not runnable (its interpreter is missing): found only by the execve, once the process
    runs; the monitor then ends the process and records why, as no other monitor will."""
    broken = tmp_path / "broken-monitor"
    broken.write_text("#!/nonexistent/interpreter\n")
    broken.chmod(0o755)
    with runtime_box(tmp_path / "exec", busybox_rootfs, tmp_path, monitor=Program(str(broken))) as b:
        b.start(["sleep", "30"], cid="x1")
        state = b.wait("x1")
        assert (state.status, state.exit_code) == ("exited", 137)
        assert state.error == f"cannot run the container monitor: {broken}: No such file or directory"
        assert "container monitor exec failed" in monitor_log(b, "x1")
        assert not b.rt._places("x1").socket.exists()
