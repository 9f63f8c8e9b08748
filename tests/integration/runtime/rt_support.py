"""Helpers for the runtime's root tests: attach clients, and `Box`, which runs containers in a private
cgroup parent and always kills and deletes them (cgroups, monitors, bundle dirs) afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import struct
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.runtime import Runtime, build_spec, resolve_user
from engine.runtime.cgroups import Cgroup
from engine.runtime.native import Program
from engine.runtime.state import pid_alive


def read_attach(sock: socket.socket, tty: bool, timeout: float = 10) -> tuple[bytes, bytes]:
    """Read an attach stream to its end: (stdout, stderr), demultiplexing stdcopy frames if not a TTY."""
    sock.settimeout(timeout)
    raw = b""
    while chunk := sock.recv(65536):
        raw += chunk
    if tty:
        return raw, b""
    out = {1: b"", 2: b""}
    while raw:
        stream, size = struct.unpack(">BxxxL", raw[:8])
        out[stream] += raw[8 : 8 + size]
        raw = raw[8 + size :]
    return out[1], out[2]


def attach(path: Path, stdin: bool = False) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(path))
    sock.sendall(json.dumps({"stdin": stdin, "stdout": True, "stderr": True}).encode() + b"\n")
    return sock


class Box:
    def __init__(self, runtime: Runtime, rootfs: Path, tmp: Path) -> None:
        self.rt = runtime
        self.rootfs = rootfs
        self.tmp = tmp
        self.parent = f"composer-test-{uuid.uuid4().hex[:8]}"
        self.started: list[str] = []

    def spec(
        self,
        cmd: list[str],
        config: dict[str, Any] | None = None,
        host: dict[str, Any] | None = None,
        cid: str = "c1",
        mounts: list[dict[str, Any]] | None = None,
        netns_path: str | None = None,
        ns_paths: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        config = {"Cmd": cmd, **(config or {})}
        return build_spec(
            config,
            host or {},
            rootfs=self.rootfs,
            mounts=mounts or [],
            hostname=cid[:12],
            cgroups_path=f"/{self.parent}/{cid}",
            netns_path=netns_path,
            ns_paths=ns_paths,
            user=resolve_user(self.rootfs, config.get("User", "")),
        )

    def start(
        self,
        cmd: list[str],
        cid: str = "c1",
        tty: bool = False,
        open_stdin: bool = False,
        log_opts: dict[str, Any] | None = None,
        hold: bool = False,
        **kw: Any,
    ) -> Any:
        spec = self.spec(cmd, cid=cid, **kw)
        self.started.append(cid)
        return self.rt.start(
            cid,
            spec,
            log_path=self.log_path(cid),
            log_opts=log_opts or {},
            tty=tty,
            open_stdin=open_stdin,
            hold_output=hold,
        )

    def log_path(self, cid: str) -> Path:
        return self.tmp / f"{cid}-json.log"

    def wait(self, cid: str = "c1", timeout: float = 20) -> Any:
        fd = self.rt.exit_fd(cid)
        try:
            ready, _, _ = select.select([fd], [], [], timeout)
            assert ready, f"container {cid} did not exit within {timeout}s"
        finally:
            os.close(fd)
        return self.rt.state(cid)

    def run(self, cmd: list[str], cid: str = "c1", **kw: Any) -> tuple[Any, str]:
        """Start, wait for exit; (final state, stdout+stderr text from the log)."""
        self.start(cmd, cid=cid, **kw)
        state = self.wait(cid)
        return state, self.output(cid)

    def output(self, cid: str = "c1", stream: str | None = None) -> str:
        lines = self.log_path(cid).read_text().splitlines() if self.log_path(cid).exists() else []
        entries = [json.loads(line) for line in lines]
        return "".join(e["log"] for e in entries if stream in (None, e["stream"]))

    def cleanup(self) -> None:
        for cid in self.started:
            status = self.rt._places(cid).status
            monitor_pid = 0
            if status.exists():
                data = json.loads(status.read_text())
                monitor_pid = int(data.get("monitor_pid") or 0)
            with contextlib.suppress(Exception):  # best effort, the next steps still run
                self.rt._cgroup(cid).destroy()
            deadline = time.monotonic() + 15
            while monitor_pid and pid_alive(monitor_pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if monitor_pid and pid_alive(monitor_pid):
                os.kill(monitor_pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                self.rt.delete(cid)
        for d in Cgroup(f"/{self.parent}").all_dirs():
            for child in d.glob("*/") if d.is_dir() else []:
                if child.is_dir():
                    child.rmdir()
            if d.is_dir():
                d.rmdir()


@contextlib.contextmanager
def runtime_box(exec_root: Path, rootfs: Path, tmp: Path, binary: str | None = None,
                monitor: Program | None = None) -> Iterator[Box]:
    """A Runtime of its own (e.g. with runc, the monitor oracle, or started under a changed environment)
    and a Box on it; both cleaned up whatever the test did."""
    rt = Runtime(exec_root, binary=binary, monitor=monitor)
    box = Box(rt, rootfs, tmp)
    try:
        yield box
    finally:
        box.cleanup()
        rt.close()
