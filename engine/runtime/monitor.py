"""One monitor per container (and per exec): parent of its process, holder of its stdio.

It runs detached from the daemon (own session, reparented to init), so a daemon killed with -9 leaves
containers running. This Python part starts the process: it forks the container's init itself (safe: no
threads here), with the namespaces, cgroup, user namespace maps, pty or runc it needs (init.py does the
child's side). It answers the daemon on <sync-fd> with one JSON object: {"pid": n} once the program is
exec'd, or {"code": n, "error": "..."} if it could not be.

Then it execve()s the native monitor (native/monitor.c, see native/handoff.py), the one program that
serves a running process: same pid, same children and descriptors, so the container's init is still its
to wait for. It holds the stdio, serves the attach socket, writes the json-file log and records the exit
in status.json, in ~1.4 MiB instead of a Python interpreter. The program is chosen by the daemon (the
options' "monitor", see native.Program); tests/support/monitor_oracle.py is the same loop in Python that
the tests compare it with.

Started as `python3 -m engine.runtime.monitor <runtime-dir> <sync-fd> [<exec-id>]` or forked from the
runtime's zygote.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from engine._typecheck import TYPE_CHECKING
from engine.kernel import syscalls as s
from engine.kernel.syscalls import LinuxSyscalls
from engine.runtime import console
from engine.runtime import init as container_init_mod
from engine.runtime.cgroups import Cgroup
from engine.runtime.logfile import parse_size, rfc3339nano
from engine.runtime.native import handoff
from engine.runtime.state import Places, ProcessState, write_status

if TYPE_CHECKING:
    from typing import Any

log = logging.getLogger(__name__)


class StartError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class LogFile:
    """Where the native monitor writes the json-file log, and its rotation (logfile.parse_size's units)."""

    path: Path
    max_size: int  # -1: unlimited
    max_file: int

    @staticmethod
    def of(path: str, opts: dict[str, Any]) -> LogFile:
        return LogFile(Path(path), parse_size(opts.get("max-size")), max(int(opts.get("max-file") or 1), 1))

    def create(self) -> None:
        """There before the daemon's answer, as Docker's is: `logs` right after a start reads it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640))


class Monitor:
    def __init__(self, places: Places, opts: dict[str, Any]) -> None:
        self.places = places
        self.opts = opts
        self.tty = bool(opts.get("tty"))
        self.open_stdin = bool(opts.get("open_stdin"))
        self.exec_mode = opts.get("mode") == "exec"
        self.spec: dict[str, Any] = json.loads(places.config.read_text())
        self.cgroup = Cgroup((self.spec.get("linux") or {}).get("cgroupsPath") or f"/composer/{opts['id']}")
        self.log: LogFile | None = None
        if opts.get("log_path") and not self.exec_mode:
            self.log = LogFile.of(opts["log_path"], opts.get("log_opts") or {})
        self.program: dict[str, Any] = opts.get("monitor") or {}  # native.Program.as_json()
        self.outputs: dict[int, str] = {}  # fd -> "stdout"/"stderr"
        self.stdin_w: int | None = None
        self.master: int | None = None
        self.console_child: socket.socket | None = None  # the child's end of the console socket (TTY)
        # Output kept for the first attach client: an exec's by default (its client connects after the
        # start; a detached one says hold=False), a container's when attached before its start.
        self.hold = bool(opts.get("hold", self.exec_mode))
        self.pid = 0
        self.started_at = ""

    # --- stdio ---
    def make_stdio(self) -> tuple[tuple[int, int, int], list[int], socket.socket | None]:
        """(child's 0/1/2, fds the child must close, our end of the console socket for a TTY)."""
        if self.tty and self.opts.get("binary") and not self.exec_mode:
            null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
            return (null, null, null), [], None  # runc makes the pty (see runc.create_and_start)
        if self.tty:
            # The child makes the pty in the container's devpts and sends us the master (console.py).
            null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            self.console_child = theirs
            return (null, null, null), [ours.fileno()], ours
        if self.open_stdin:
            in_r, in_w = os.pipe2(os.O_CLOEXEC)
            self.stdin_w = in_w
        else:
            in_r, in_w = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC), -1
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        self.outputs[out_r] = "stdout"
        self.outputs[err_r] = "stderr"
        return (in_r, out_w, err_w), [fd for fd in (in_w, out_r, err_r) if fd >= 0], None

    def _take_console(self, ours: socket.socket) -> None:
        master = console.receive_master(ours)
        ours.close()
        if master is None:
            raise StartError("the container's init sent no terminal", 128)
        self.master = master
        self.outputs[master] = "stdout"
        if self.open_stdin:
            self.stdin_w = master

    # --- starting the process ---
    def start(self, listener: socket.socket) -> int:
        stdio, parent_fds, console_ours = self.make_stdio()
        child_close = [*parent_fds, listener.fileno()]
        theirs = self.console_child.fileno() if self.console_child is not None else None
        try:
            if self.exec_mode:
                pid = self._fork(
                    lambda w: container_init_mod.exec_init(
                        self.opts["process"],
                        int(self.opts["target_pid"]),
                        stdio,
                        [
                            str(Path(d) / "cgroup.procs")
                            for d in self.cgroup.dirs().values()
                            if Path(d).is_dir()
                        ],
                        w,
                        (self.spec.get("linux") or {}).get("seccomp"),
                        theirs,
                    ),
                    child_close,
                    new_pidns=f"/proc/{self.opts['target_pid']}/ns/pid",
                )
            elif self.opts.get("binary"):
                pid = self._start_runc(stdio)
            else:
                linux = self.spec.get("linux") or {}
                self.cgroup.create(linux.get("resources") or {})
                spaces = linux.get("namespaces") or []
                remap = IdMaps.of(linux) if any(ns["type"] == "user" for ns in spaces) else None
                if remap is not None:  # the remapped root may manage its own cgroup (v2), as with runc
                    self.cgroup.chown(remap.host_root_uid, remap.host_root_gid)
                # pid namespaces apply to children only: made (or joined) here, before the fork. With a user
                # namespace stage 1 does it: a new one must belong to that user namespace, and stage 1 must
                # stay in our pid namespace, or its orphaned child (the container's init) would not be
                # reparented to us but to the joined namespace's init
                pid_ns = next((ns for ns in spaces if ns["type"] == "pid"), None)
                new_pidns = None if pid_ns is None or remap is not None else (pid_ns.get("path") or "new")
                dirs = {name: str(d) for name, d in self.cgroup.dirs().items()}
                pid = self._fork(
                    lambda w, go, ch=None: container_init_mod.container_init(
                        self.spec, stdio, theirs, dirs, w, go, ch
                    ),
                    child_close,
                    new_pidns=new_pidns,
                    cgroup_procs=[str(Path(d) / "cgroup.procs") for d in dirs.values()],
                    remap=remap,
                )
            if console_ours is not None:
                self._take_console(console_ours)  # sent before the child's execve: already queued
        finally:
            for fd in set(stdio):
                os.close(fd)
            if self.console_child is not None:
                self.console_child.close()
                self.console_child = None
            if console_ours is not None:
                console_ours.close()
        return pid

    def _fork(self, child: Any, child_close: list[int], new_pidns: str | None,
              cgroup_procs: list[str] | None = None, remap: IdMaps | None = None) -> int:
        """Fork `child` and wait until it exec'd (or reported its failure on the sync pipe).

        With `cgroup_procs`, we move the child into the container's cgroup while it sets up its namespaces
        and mounts, then tell it "go" on a second pipe: a cgroup v1 migration waits for an RCU grace period
        (6-20 ms here), which so overlaps the child's own work instead of adding to it.

        With `remap`, the child makes a user namespace first and we write its id maps (init.py's second
        table); the container's init is then the child's child, which becomes ours as we are a subreaper."""
        sc = LinuxSyscalls()
        if new_pidns == "new":
            sc.unshare(s.CLONE_NEWPID)  # applies to the next child only: it becomes PID 1
        elif new_pidns:
            sc.setns(new_pidns, s.CLONE_NEWPID)
        r, w = os.pipe2(os.O_CLOEXEC)
        go_r, go_w = os.pipe2(os.O_CLOEXEC) if cgroup_procs is not None else (-1, -1)
        channel, channel_child = (socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                                  if remap is not None else (None, None))
        if remap is not None:
            sc.prctl(s.PR_SET_CHILD_SUBREAPER, 1)
        pid = os.fork()
        if pid == 0:
            os.close(r)
            for fd in [*child_close, go_w]:
                with contextlib.suppress(OSError):
                    os.close(fd)
            if channel is not None:
                channel.close()
            if cgroup_procs is None:
                child(w)
            elif channel_child is None:
                child(w, go_r)
            else:
                child(w, go_r, channel_child)
            os._exit(128)  # not reached: child() execs or exits
        os.close(w)
        join_error: OSError | None = None
        if cgroup_procs is not None:
            os.close(go_r)
            try:
                for procs in cgroup_procs:
                    with open(procs, "w") as f:
                        f.write(str(pid))
                os.write(go_w, b"g")
            except OSError as e:  # the child sees EOF instead of "go" and gives up
                join_error = e
            finally:
                os.close(go_w)
        map_error: OSError | None = None
        if channel is not None and channel_child is not None and remap is not None:
            channel_child.close()
            stage1 = pid
            pid, map_error = _serve_user_namespace(channel, stage1, remap)
            os.waitpid(stage1, 0)  # it exits once its child, the container's init, is made
        data = b""
        while chunk := os.read(r, 65536):
            data += chunk
        os.close(r)
        if data:
            if pid:
                os.waitpid(pid, 0)
            err = json.loads(data)
            if join_error is not None and err["error"] == container_init_mod.NO_CGROUP:
                raise StartError(f"cannot join the container's cgroup: {join_error}", 128)
            if map_error is not None:
                raise StartError(f"cannot write the user namespace's id maps: {map_error}", 128)
            raise StartError(err["error"], int(err["code"]))  # the child's own failure (our write then broke)
        if not pid:
            raise StartError("the container's init was not started (stage 1 sent no pid)", 128)
        return pid

    def _start_runc(self, stdio: tuple[int, int, int]) -> int:
        from engine.runtime import runc  # runc monitors only

        try:
            pid, master = runc.create_and_start(self.opts["binary"], self.opts["runc_root"], self.opts["id"],
                                                self.places.dir, stdio, self.tty)
        except runc.RuncError as e:
            raise StartError(str(e), e.code) from e
        if master is not None:
            self.master = master
            self.outputs[master] = "stdout"
            if self.open_stdin:
                self.stdin_w = master
        return pid

    def abandon(self, message: str) -> None:
        """The native monitor could not take over: end the process and record why (nobody else will)."""
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        code = 128
        with contextlib.suppress(ChildProcessError):
            _, status = os.waitpid(self.pid, 0)
            code = os.waitstatus_to_exitcode(status)
            code = 128 - code if code < 0 else code
        if self.opts.get("binary") and not self.exec_mode:
            from engine.runtime import runc

            runc.delete(self.opts["binary"], self.opts["runc_root"], self.opts["id"])
        state = ProcessState("exited", self.pid, code, False, self.started_at, rfc3339nano(), message)
        write_status(self.places, state, monitor_pid=os.getpid())


@dataclass(frozen=True)
class IdMaps:
    """A spec's linux.uidMappings/gidMappings, as /proc/<pid>/uid_map and gid_map take them."""

    uid_map: str
    gid_map: str
    host_root_uid: int
    host_root_gid: int

    @staticmethod
    def of(linux: dict[str, Any]) -> IdMaps:
        def lines(maps: list[dict[str, Any]]) -> str:
            return "".join(f"{int(m['containerID'])} {int(m['hostID'])} {int(m['size'])}\n" for m in maps)

        def root(maps: list[dict[str, Any]]) -> int:
            for m in maps:
                if int(m["containerID"]) == 0:
                    return int(m["hostID"])
            raise StartError("the user namespace maps no root (no mapping of container id 0)", 128)

        uids, gids = list(linux.get("uidMappings") or []), list(linux.get("gidMappings") or [])
        return IdMaps(lines(uids), lines(gids), root(uids), root(gids))


def _serve_user_namespace(channel: socket.socket, stage1: int, remap: IdMaps) -> tuple[int, OSError | None]:
    """Our side of init.py's second table: write the maps when asked; return the pid stage 1 sends.
    setgroups is left "allow": we write gid_map as the host's root, so the container keeps setgroups(2)
    (its additional groups), as under runc."""
    pid = 0
    error: OSError | None = None
    with channel:
        while msg := _recv(channel):
            if msg == container_init_mod.USERNS_MAP:
                try:
                    for name, text in (("uid_map", remap.uid_map), ("gid_map", remap.gid_map)):
                        with open(f"/proc/{stage1}/{name}", "w") as f:
                            f.write(text)
                except OSError as e:  # stage 1 sees the channel close instead of "ok" and gives up
                    error = e
                    break
                channel.send(container_init_mod.USERNS_MAPPED)
            elif msg.startswith(container_init_mod.USERNS_PID):
                pid = int(msg[len(container_init_mod.USERNS_PID):])
    return pid, error


def _recv(channel: socket.socket) -> bytes:
    try:
        return channel.recv(64)
    except OSError:
        return b""


def run(runtime_dir: Path, sync_fd: int, eid: str = "") -> None:
    """The monitor's whole life; the caller exits with os._exit afterwards."""
    places = Places(runtime_dir, eid)
    places.pidfile.write_text(str(os.getpid()))
    started_at = rfc3339nano()
    opts: dict[str, Any] = {}
    mon: Monitor | None = None
    listener: socket.socket | None = None
    ours = 0
    try:
        opts = json.loads(places.options.read_text())
        mon = Monitor(places, opts)
        mon.started_at = started_at
        if problem := handoff.check(mon.program):  # before the process exists: nothing to undo
            raise StartError(problem, 128)
        if mon.log is not None:
            mon.log.create()
        places.socket.parent.mkdir(mode=0o700, exist_ok=True)
        places.socket.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(places.socket))
        listener.listen(16)
        ours = os.stat(places.socket).st_ino
        pid = mon.start(listener)
    except Exception as e:  # noqa: BLE001 - every start failure is reported to the daemon, once
        code = e.code if isinstance(e, StartError) else 128
        message = str(e)
        log.warning("start failed id=%s code=%s err=%s", opts.get("id"), code, message)
        write_status(places, ProcessState("exited", 0, code, False, started_at, rfc3339nano(), message),
                     monitor_pid=os.getpid())
        os.write(sync_fd, json.dumps({"code": code, "error": message}).encode())
        os.close(sync_fd)
        if listener is not None:
            listener.close()
            _unlink_if_ours(places.socket, ours)
        if mon is not None and not mon.exec_mode and not opts.get("binary"):
            mon.cgroup.destroy()
        return
    mon.pid = pid
    write_status(places, ProcessState("running", pid, None, False, started_at, None, ""),
                 monitor_pid=os.getpid())
    os.write(sync_fd, json.dumps({"pid": pid}).encode())
    os.close(sync_fd)
    error = handoff.exec_native(mon, listener, ours)  # returns only if the execve failed
    log.error("container monitor exec failed id=%s err=%s", opts.get("id"), error)
    mon.abandon(f"cannot run the container monitor: {error}")
    listener.close()
    _unlink_if_ours(places.socket, ours)


def _unlink_if_ours(path: Path, inode: int) -> None:
    """A restarted container's new monitor may already have bound the same path: leave its socket alone."""
    try:
        if os.stat(path).st_ino == inode:
            path.unlink()
    except FileNotFoundError:
        pass


def detach_stdio(errlog: Path, keep: int) -> None:
    """Own session, no inherited descriptors but `keep`; stdout/stderr to the monitor's own log file."""
    with contextlib.suppress(OSError):
        os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    err = os.open(errlog, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    os.dup2(null, 0)
    os.dup2(err, 1)
    os.dup2(err, 2)
    for fd in (null, err):
        if fd > 2:
            os.close(fd)
    os.closerange(3, keep)
    os.closerange(keep + 1, 65536)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def main(argv: list[str]) -> None:
    runtime_dir, sync_fd = Path(argv[0]), int(argv[1])
    eid = argv[2] if len(argv) > 2 else ""
    detach_stdio(Places(runtime_dir, eid).errlog, sync_fd)
    # Fork once more so the daemon reaps our first process at once and the monitor is reparented to init.
    if os.fork() != 0:
        os._exit(0)
    serve_forever(runtime_dir, sync_fd, eid)


def serve_forever(runtime_dir: Path, sync_fd: int, eid: str) -> None:
    # A name `ps -o comm` / `top` show: forked from the zygote, the command line still says "zygote".
    with contextlib.suppress(OSError), open("/proc/self/comm", "w") as f:
        f.write(handoff.comm_name(Places(runtime_dir, eid)))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        run(runtime_dir, sync_fd, eid)
    except Exception:
        log.exception("monitor failed dir=%s", runtime_dir)
        os._exit(1)
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
