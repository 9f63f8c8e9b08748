"""The native monitor in a real engine: it takes over after the start, it is built once per source and
exec root, and the Python loop stays in use when it is disabled or cannot be built."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from engine.runtime import Runtime, native
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


def build_log(box: Box) -> str:
    path = native_dir(box) / "build.log"
    return path.read_text() if path.exists() else ""


def wait_built(box: Box, suffix: str = "") -> Path:
    """The zygote's builder child is done: the binary (or, with suffix=".failed", the failure record)."""
    deadline = time.monotonic() + 60
    while True:
        found = [p for p in native_dir(box).glob("cmon-*") if p.name.endswith(suffix) and "tmp" not in p.name]
        if suffix or not any(p.name.endswith(".failed") for p in found):
            found = [p for p in found if suffix or "." not in p.name]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"no native build: {build_log(box)}"
        time.sleep(0.05)


def warm(box: Box) -> Path:
    """A first container (served by the Python loop) makes the zygote build the native monitor."""
    state, _ = box.run(["true"], cid="warm")
    assert state.exit_code == 0
    return wait_built(box)


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


def test_first_start_builds_beside_a_python_monitor(box: Box) -> None:
    assert run_with_attach(box, "n1") is False  # served at once by the Python loop while the build runs
    wait_built(box)
    assert build_log(box).count("native monitor built") == 1
    assert "native monitor" not in monitor_log(box, "n1")
    assert run_with_attach(box, "n2") is True
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
    assert build_log(box).count("native monitor built") == 1  # built once


def test_second_engine_start_reuses_the_build_and_adopts(box: Box, tmp_path: Path) -> None:
    exe = warm(box)
    box.start(["sh", "-c", "echo up; sleep 30"], cid="a1")
    wait_native(box, monitor_pid(box, "a1"))
    built = exe.stat()
    box.rt.close()  # the daemon goes away (its zygote exits); the monitor and container stay
    rt2 = Runtime(tmp_path / "exec")
    try:
        state = rt2.state("a1")
        assert state.status == "running"
        box2 = Box(rt2, box.rootfs, tmp_path)
        box2.parent = box.parent
        box.started.append("a2")
        assert run_with_attach(box2, "a2") is True  # the new zygote's first start: native at once
        assert build_log(box2).count("native monitor built") == 1
        after = exe.stat()
        assert (after.st_ino, after.st_mtime_ns) == (built.st_ino, built.st_mtime_ns)
        rt2.kill("a1", signal.SIGKILL)
        assert box2.wait("a1").exit_code == 137 and box2.output("a1") == "up\n"
    finally:
        rt2.close()


@pytest.fixture
def python_box(monkeypatch: pytest.MonkeyPatch, busybox_rootfs: Path, tmp_path: Path) -> Iterator[Box]:
    monkeypatch.setenv(native.ENV, "0")  # before the Runtime: its zygote (so each monitor) inherits it
    with runtime_box(tmp_path / "exec", busybox_rootfs, tmp_path) as b:
        yield b


def test_disabled_native_monitor_keeps_the_python_loop(python_box: Box, tmp_path: Path) -> None:
    assert run_with_attach(python_box, "p1") is False
    assert not (tmp_path / "exec" / "native").exists()


@pytest.fixture
def broken_cc_box(monkeypatch: pytest.MonkeyPatch, busybox_rootfs: Path, tmp_path: Path) -> Iterator[Box]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    cc = bin_dir / "cc"
    cc.write_text("#!/bin/sh\necho 'cc: internal compiler error: broken on purpose' >&2\nexit 4\n")
    cc.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    with runtime_box(tmp_path / "exec", busybox_rootfs, tmp_path) as b:
        yield b


def test_broken_compiler_falls_back_with_one_warning(broken_cc_box: Box, tmp_path: Path) -> None:
    assert run_with_attach(broken_cc_box, "b1") is False
    wait_built(broken_cc_box, ".failed")
    assert run_with_attach(broken_cc_box, "b2") is False
    lines = build_log(broken_cc_box).splitlines()
    warnings = [line for line in lines if "native monitor build failed" in line]
    assert len(warnings) == 1 and "broken on purpose" in warnings[0]  # remembered: no second attempt
    assert "native monitor" not in monitor_log(broken_cc_box, "b1") + monitor_log(broken_cc_box, "b2")


def test_native_request_line_edge_cases(box: Box) -> None:
    warm(box)
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
    wait_built(box)
    assert build_log(box).count("native monitor built") == 1
    left = sorted(p.name for p in native_dir(box).iterdir())
    assert len(left) == 3 and left[:2] == [".lock", "build.log"] and left[2].startswith("cmon-")  # no tmp
    for cid in cids:
        box.rt.kill(cid, signal.SIGKILL)
        assert box.wait(cid).exit_code == 137


def test_exec_and_runc_monitors_go_native_too(box: Box, busybox_rootfs: Path, tmp_path: Path) -> None:
    warm(box)
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
        warm(runc_box)
        runc_box.start(["sh", "-c", "echo hi; sleep 30"], cid="rn1")
        wait_native(runc_box, monitor_pid(runc_box, "rn1"))
        runc_box.rt.kill("rn1", signal.SIGKILL)
        assert runc_box.wait("rn1").exit_code == 137 and runc_box.output("rn1") == "hi\n"


def build_processes(cache_dir: Path) -> list[int]:
    """The builder child (it holds build.log open) and the compiler's processes (output under cache_dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            fds = [os.readlink(fd) for fd in (entry / "fd").iterdir()]
        except OSError:
            continue
        if str(cache_dir).encode() in cmdline or str(cache_dir / "build.log") in fds:
            found.append(int(entry.name))
    return found


def test_a_build_ends_with_its_zygote(box: Box, tmp_path: Path) -> None:
    cache_dir = native_dir(box)
    box.start(["sleep", "30"], cid="z1")
    deadline = time.monotonic() + 10
    while not build_processes(cache_dir):  # the build is under way...
        assert time.monotonic() < deadline and not any(cache_dir.glob("cmon-*")), "no build seen running"
        time.sleep(0.005)
    box.rt.close()  # ...when the daemon (so its zygote) goes
    deadline = time.monotonic() + 10
    while left := build_processes(cache_dir):
        assert time.monotonic() < deadline, f"build processes left: {left}"
        time.sleep(0.05)
    assert not any(p.name.startswith("cmon-") for p in cache_dir.iterdir())  # nothing half-built in place
    rt2 = Runtime(tmp_path / "exec")  # the next daemon builds again
    try:
        box2 = Box(rt2, box.rootfs, tmp_path)
        box2.parent = box.parent
        box.started.append("z2")
        box2.start(["true"], cid="z2")
        wait_built(box2)
        rt2.kill("z1", signal.SIGKILL)
        assert box2.wait("z1").exit_code == 137
    finally:
        rt2.close()
