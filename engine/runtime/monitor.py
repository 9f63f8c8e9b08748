"""One monitor per container (and per exec): parent of its process, holder of its stdio.

It runs detached from the daemon (own session, reparented to init), so a daemon killed with -9 leaves
containers running. Single-threaded: one selector loop over the process's output, the attach socket's
clients and a pidfd that becomes readable when the process exits. It forks the container's init
itself (safe: no threads here), writes the json-file log, and records status.json atomically.

Started as `python3 -m engine.runtime.monitor <runtime-dir> <sync-fd> [<exec-id>]` or forked from the
runtime's zygote. It answers the daemon on <sync-fd> with one JSON object: {"pid": n} once the
program is exec'd, or {"code": n, "error": "..."} if it could not be.

Once the process runs and the daemon has its answer, the monitor execve()s the native monitor
(native/monitor.c, see native/handoff.py): the same loop, log and records in ~1.4 MiB instead of a
Python interpreter. The Python loop below (serve) stays for when it cannot be had: no C compiler, a
failed build, or COMPOSER_NATIVE_MONITOR=0. Both speak the same protocol and write the same files.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import signal
import socket
import struct
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.kernel import syscalls as s
from engine.kernel.syscalls import LinuxSyscalls
from engine.runtime import console
from engine.runtime import init as container_init_mod
from engine.runtime.cgroups import Cgroup
from engine.runtime.logfile import JsonFileLog, rfc3339nano
from engine.runtime.native import handoff
from engine.runtime.state import Places, ProcessState, write_status

log = logging.getLogger(__name__)

HOLD_LIMIT = 4 * 1024 * 1024  # output kept for a not-yet-connected attach client (attach-before-start)
HOLD_WAIT = 10.0  # seconds an exited process waits for that client
EXEC_WAIT = 30.0  # seconds an exited exec waits for its first client to collect output and status


EVENT_READ = 1  # selectors.EVENT_READ; selectors itself is imported by the Python loop only


class StartError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Pending:
    sock: socket.socket
    buf: bytes = b""


@dataclass
class Client:
    sock: socket.socket
    streams: tuple[bool, bool]  # stdout, stderr
    stdin: bool
    reading: bool = True


def frame(stream: int, data: bytes) -> bytes:
    """Docker's stdcopy header: stream id, 3 zero bytes, big-endian payload length."""
    return struct.pack(">BxxxL", stream, len(data)) + data


def set_winsize(fd: int, height: int, width: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


class Monitor:
    def __init__(self, places: Places, opts: dict[str, Any]) -> None:
        self.places = places
        self.opts = opts
        self.tty = bool(opts.get("tty"))
        self.open_stdin = bool(opts.get("open_stdin"))
        self.exec_mode = opts.get("mode") == "exec"
        self.spec: dict[str, Any] = json.loads(places.config.read_text())
        self.cgroup = Cgroup((self.spec.get("linux") or {}).get("cgroupsPath") or f"/composer/{opts['id']}")
        self.log: JsonFileLog | None = None
        if opts.get("log_path") and not self.exec_mode:
            self.log = JsonFileLog(Path(opts["log_path"]), opts.get("log_opts") or {})
        self.sel: Any = None  # the Python loop's selector, made in serve()
        self.clients: list[Client] = []
        self.outputs: dict[int, str] = {}  # fd -> "stdout"/"stderr"
        self.stdin_w: int | None = None
        self.master: int | None = None
        self.console_child: socket.socket | None = None  # the child's end of the console socket (TTY)
        # An exec holds by default (its client connects after the start); a detached one says hold=False.
        self.hold: list[tuple[str, bytes]] | None = [] if opts.get("hold", self.exec_mode) else None
        self.held = 0
        self.served = False
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

    # --- the loop ---
    def serve(self, listener: socket.socket, pid: int) -> int:
        import selectors  # the fallback loop's only: the zygote (so each forked monitor) stays smaller

        self.sel = selectors.DefaultSelector()
        pidfd = os.pidfd_open(pid)
        for fd in self.outputs:
            os.set_blocking(fd, False)
            self.sel.register(fd, EVENT_READ, "out")
        listener.setblocking(False)
        self.sel.register(listener, EVENT_READ, "listen")
        self.sel.register(pidfd, EVENT_READ, "exit")
        exit_code: int | None = None
        deadline = 0.0
        while True:
            timeout = None if exit_code is None else max(deadline - time.monotonic(), 0)
            if exit_code is not None and (self.served or timeout == 0):
                break
            for key, _ in self.sel.select(timeout):
                kind = key.data
                if kind == "out":
                    self._read_output(int(key.fd))  # type: ignore[arg-type]
                elif kind == "listen":
                    self._accept(listener)
                elif kind == "exit":
                    exit_code = self._reap(pid)
                    self._drain()
                    self.sel.unregister(pidfd)
                    os.close(pidfd)
                    self._record_exit(exit_code)
                    wait = EXEC_WAIT if self.exec_mode else HOLD_WAIT
                    deadline = time.monotonic() + (wait if self.hold is not None else 0)
                elif isinstance(kind, Client):
                    self._client_input(kind)
                elif isinstance(kind, Pending):
                    self._request(kind)
        for client in list(self.clients):
            self._drop(client)
        return exit_code

    def _read_output(self, fd: int) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno != errno.EIO:  # EIO: the pty's last slave closed
                raise
            data = b""
        if not data:
            self.sel.unregister(fd)
            stream = self.outputs.pop(fd)
            if fd != self.stdin_w:
                os.close(fd)
            log.debug("output closed stream=%s", stream)
            return
        self._emit(self.outputs[fd], data)

    def _emit(self, stream: str, data: bytes) -> None:
        if self.log is not None:
            self.log.write(stream, data)
        if self.hold is not None and self.held < HOLD_LIMIT:
            self.hold.append((stream, data))
            self.held += len(data)
        for client in list(self.clients):
            self._send(client, stream, data)

    def _send(self, client: Client, stream: str, data: bytes) -> None:
        index = 0 if stream == "stdout" else 1
        if not client.streams[index]:
            return
        try:
            client.sock.sendall(data if self.tty else frame(index + 1, data))
        except OSError:
            self._drop(client)

    def _drain(self) -> None:
        """After exit: what is still in the pipes, without waiting on a straggler that holds them open."""
        for fd in list(self.outputs):
            while fd in self.outputs:
                try:
                    data = os.read(fd, 65536)
                except (BlockingIOError, OSError):
                    break
                if not data:
                    break
                self._emit(self.outputs[fd], data)

    def _accept(self, listener: socket.socket) -> None:
        """A new connection sends one JSON request line first; read it without blocking the loop."""
        try:
            sock, _ = listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        self.sel.register(sock, EVENT_READ, Pending(sock))

    def _request(self, pending: Pending) -> None:
        sock = pending.sock
        try:
            chunk = sock.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        pending.buf += chunk
        if b"\n" not in pending.buf:
            if not chunk or len(pending.buf) > 65536:
                self.sel.unregister(sock)
                sock.close()
            return
        self.sel.unregister(sock)
        sock.settimeout(10)  # from here on, sends to a slow client block (briefly), as Docker's attach does
        line, rest = pending.buf.split(b"\n", 1)
        try:
            req = json.loads(line)
        except ValueError:
            sock.close()
            return
        if "resize" in req:
            if self.master is not None:
                set_winsize(self.master, int(req["resize"][0]), int(req["resize"][1]))
            with contextlib.suppress(OSError):
                sock.sendall(b"{}\n")
            sock.close()
            return
        client = Client(sock, (bool(req.get("stdout")), bool(req.get("stderr"))), bool(req.get("stdin")))
        if self.hold is not None and not self.served and (client.streams[0] or client.streams[1]):
            self.served = True
            for stream, data in self.hold:
                self._send(client, stream, data)
            self.hold = None
        self.clients.append(client)
        self.sel.register(sock, EVENT_READ, client)
        if rest:
            self._stdin(client, rest)

    def _client_input(self, client: Client) -> None:
        try:
            data = client.sock.recv(65536)
        except OSError:
            data = b""
        if data:
            self._stdin(client, data)
            return
        # Half-close from the client: stdin EOF for the container (a pty gets no EOF, as in Docker).
        self.sel.unregister(client.sock)
        client.reading = False
        if client.stdin and self.stdin_w is not None and not self.tty:
            os.close(self.stdin_w)
            self.stdin_w = None

    def _stdin(self, client: Client, data: bytes) -> None:
        if client.stdin and self.stdin_w is not None:
            with contextlib.suppress(OSError):
                os.write(self.stdin_w, data)

    def _drop(self, client: Client) -> None:
        if client in self.clients:
            self.clients.remove(client)
        if client.reading:
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(client.sock)
        with contextlib.suppress(OSError):
            client.sock.shutdown(socket.SHUT_RDWR)
        client.sock.close()

    def _reap(self, pid: int) -> int:
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        return 128 - code if code < 0 else code

    def _record_exit(self, exit_code: int) -> None:
        if self.log is not None:
            self.log.flush()
        oom = False if self.exec_mode else self.cgroup.oom_killed()
        if self.opts.get("binary") and not self.exec_mode:
            from engine.runtime import runc

            runc.delete(self.opts["binary"], self.opts["runc_root"], self.opts["id"])
        write_status(
            self.places,
            ProcessState("exited", self.pid, exit_code, oom, self.started_at, rfc3339nano(), ""),
            monitor_pid=os.getpid(),
        )


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
    exe = handoff.built_binary(places)
    write_status(places, ProcessState("running", pid, None, False, started_at, None, ""),
                 monitor_pid=os.getpid())
    os.write(sync_fd, json.dumps({"pid": pid}).encode())
    os.close(sync_fd)
    if exe is not None:
        handoff.exec_native(mon, exe, listener, ours)  # returns only if the execve failed
    mon.serve(listener, pid)
    listener.close()
    _unlink_if_ours(places.socket, ours)
    if mon.log is not None:
        mon.log.close()


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
