"""The container's init sequence, run in the monitor's freshly forked child (the monitor is a
single-threaded process, never the daemon), top to bottom, ending in execve.

Parent/child sync (one pipe, child -> monitor, close-on-exec):

| step | child                                             | monitor                                   |
|------|---------------------------------------------------|-------------------------------------------|
| 1    |                                                   | cgroup made + limits written; (unshare    |
|      |                                                   | CLONE_NEWPID); fork                       |
| 2    | joins cgroup, namespaces, mounts, ..., execve     | blocks reading the sync pipe              |
| 3a   | execve succeeded: the pipe closes empty           | EOF with no data -> "running"             |
| 3b   | failure: writes {"code", "error"} JSON, _exit     | data -> "exited" with that code + error   |

With a new user namespace in the spec (--userns-remap) the order is runc's (nsexec's stage 1 and 2): the
namespaces given by path are joined while the child is still root of the host, the user namespace is made
before every other one (so it owns them: mounting proc, sysfs, devpts needs that), its id maps are written
by the monitor (a process in the parent namespace may map any range; the child itself could map only its
own uid), and the pid namespace, which applies to children only, needs one more fork. A second channel, a
SOCK_SEQPACKET pair, carries that exchange; the monitor is a child subreaper, so the container's PID 1
becomes its child when the intermediate process exits:

| step | child (stage 1)                                   | monitor                                   |
|------|---------------------------------------------------|-------------------------------------------|
| 1    |                                                   | cgroup made (chowned to the remapped root |
|      |                                                   | on v2), PR_SET_CHILD_SUBREAPER; fork      |
| 2    | rlimits, oom_score_adj (need the host's caps);    | moves the child into the cgroup, "go"     |
|      | setns(paths; pid's for its child); unshare(       |                                           |
|      | CLONE_NEWUSER); sends "map" (a user namespace     |                                           |
|      | given by path: setns to it, no "map")             |                                           |
| 3    | blocks on the channel                             | writes uid_map, gid_map; answers "ok"     |
| 4    | setresuid/gid(0) (the mapped root); waits "go";   |                                           |
|      | unshare(mount, pid, uts, ipc, net, cgroup); fork  |                                           |
| 5    | sends "pid <host pid of stage 2>", _exit(0)       | reaps stage 1; the pid is now its child   |
| 6    | stage 2 (PID 1): mounts, ..., execve: as above    | reads the sync pipe as in steps 3a/3b     |
"""

from __future__ import annotations

import fcntl
import json
import os
import resource
import signal
import socket
import stat
import struct
from collections.abc import Mapping

from engine._typecheck import TYPE_CHECKING
from engine.kernel import syscalls as s
from engine.kernel.syscalls import LinuxSyscalls
from engine.runtime import caps, console, rootfs, seccomp
from engine.runtime.oci import DEFAULT_PATH

if TYPE_CHECKING:
    from typing import Any

_IFF_UP = 0x1
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_RLIMIT_NUMBERS = {
    "RLIMIT_CPU": 0,
    "RLIMIT_FSIZE": 1,
    "RLIMIT_DATA": 2,
    "RLIMIT_STACK": 3,
    "RLIMIT_CORE": 4,
    "RLIMIT_RSS": 5,
    "RLIMIT_NPROC": 6,
    "RLIMIT_NOFILE": 7,
    "RLIMIT_MEMLOCK": 8,
    "RLIMIT_AS": 9,
    "RLIMIT_LOCKS": 10,
    "RLIMIT_SIGPENDING": 11,
    "RLIMIT_MSGQUEUE": 12,
    "RLIMIT_NICE": 13,
    "RLIMIT_RTPRIO": 14,
    "RLIMIT_RTTIME": 15,
}


NO_CGROUP = "the monitor could not move the container into its cgroup"


class InitError(Exception):
    """A failure to report to the monitor with Docker's exit code (127, 126, or 128 for the rest)."""

    def __init__(self, message: str, code: int = 128) -> None:
        super().__init__(message)
        self.code = code


def report_and_exit(sync_fd: int, err: BaseException) -> None:
    code = err.code if isinstance(err, InitError) else 128
    message = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
    try:
        os.write(sync_fd, json.dumps({"code": code, "error": message}).encode())
    finally:
        os._exit(code)


def loopback_up() -> None:
    """A new network namespace starts with `lo` down; Docker containers get it up."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        req = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(sock, _SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | _IFF_UP))


def set_stdio(stdio: tuple[int, int, int]) -> None:
    """Own session (so the container is not in the monitor's), stdio on 0-2 (a TTY comes later: see
    console.py). Signals Python (or the monitor) ignores would stay ignored across execve: give back
    their defaults."""
    for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    os.setsid()
    for target, fd in enumerate(stdio):
        os.dup2(fd, target, inheritable=True)


def _uid(process: Mapping[str, Any]) -> int:
    return int((process.get("user") or {}).get("uid", 0))


def find_executable(arg0: str, env: list[str]) -> str:
    """Resolve argv[0] like Go's exec.LookPath in the container, with Docker's error wording."""
    if "/" in arg0:
        if not os.path.exists(arg0):
            raise InitError(f'exec: "{arg0}": stat {arg0}: no such file or directory', 127)
        return arg0
    path = next((e[5:] for e in env if e.startswith("PATH=")), DEFAULT_PATH)
    for d in path.split(":"):
        candidate = os.path.join(d or ".", arg0)
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_mode & 0o111:
            return candidate
    raise InitError(f'exec: "{arg0}": executable file not found in $PATH', 127)


def apply_rlimits(limits: list[Mapping[str, Any]]) -> None:
    for lim in limits:
        number = _RLIMIT_NUMBERS.get(lim["type"])
        if number is None:
            raise InitError(f"unknown rlimit {lim['type']}")
        try:
            resource.setrlimit(number, (int(lim["soft"]), int(lim["hard"])))
        except (ValueError, OSError) as e:
            raise InitError(
                f"error setting rlimit type {number}: {lim['type']} "
                f"soft={lim['soft']} hard={lim['hard']}: operation not permitted ({e})"
            ) from e


def drop_privileges(sc: LinuxSyscalls, process: Mapping[str, Any]) -> None:
    """Capabilities and identity, in the only order that works: the bounding set can only be shrunk while
    we still hold CAP_SETPCAP; keep-caps carries the permitted set across setuid; then the wanted sets."""
    capabilities = process.get("capabilities") or {}
    # A capability the engine itself lacks (e.g. CAP_SYS_RESOURCE in some sandboxes) cannot be granted:
    # "all capabilities" (privileged) means all that we hold, rather than a failed start.
    held = caps.held_mask()
    bounding = caps.to_mask(capabilities.get("bounding") or []) & held
    for number in range(caps.last_cap() + 1):
        if not bounding & (1 << number) and held & (1 << number):
            sc.prctl(s.PR_CAPBSET_DROP, number)
    user = process.get("user") or {}
    uid, gid = int(user.get("uid", 0)), int(user.get("gid", 0))
    sc.prctl(s.PR_SET_KEEPCAPS, 1)
    os.setgroups([int(g) for g in user.get("additionalGids") or []])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    sc.prctl(s.PR_SET_KEEPCAPS, 0)
    sc.capset(
        caps.to_mask(capabilities.get("effective") or []) & held,
        caps.to_mask(capabilities.get("permitted") or []) & held,
        caps.to_mask(capabilities.get("inheritable") or []) & held,
    )
    for name in capabilities.get("ambient") or []:
        if name in caps.CAP_NUMBERS:
            sc.prctl(s.PR_CAP_AMBIENT, s.PR_CAP_AMBIENT_RAISE, caps.CAP_NUMBERS[name])


def exec_process(sc: LinuxSyscalls, process: Mapping[str, Any], sync_fd: int,
                 seccomp_profile: Mapping[str, Any] | None = None) -> None:
    """The common tail of container init and exec: cwd, rlimits, user, caps, execve."""
    cwd = process.get("cwd") or "/"
    try:
        os.makedirs(cwd, exist_ok=True)  # Docker creates a missing WorkingDir
        os.chdir(cwd)
    except OSError as e:
        raise InitError(f'chdir to cwd ("{cwd}") set in config.json failed: {e.strerror}', 128) from e
    apply_limits(process)
    args = list(process["args"])
    env = list(process.get("env") or [])
    # Look the program up as root (before dropping CAP_DAC_*), like runc does before finalizing.
    path = find_executable(args[0], env)
    if process.get("noNewPrivileges"):
        sc.prctl(s.PR_SET_NO_NEW_PRIVS, 1)
    # seccomp last but one: installing it needs CAP_SYS_ADMIN (or no_new_privs), which we are about to drop,
    # and nothing the filter denies is called from here to execve.
    if seccomp_profile:
        seccomp.install(seccomp.compile_filter(seccomp_profile), seccomp_profile.get("flags") or ())
    drop_privileges(sc, process)
    # Nothing but stdio and the sync pipe (close-on-exec) may leak into the container's program.
    os.closerange(3, sync_fd)
    os.closerange(sync_fd + 1, 65536)
    environ = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    try:
        os.execve(path, args, environ)
    except OSError as e:
        code = 126 if e.errno in (13, 8, 21) else 127  # EACCES, ENOEXEC, EISDIR -> cannot invoke
        raise InitError(f'exec: "{args[0]}": {os.strerror(e.errno or 0).lower()}', code) from e


def container_init(
    spec: Mapping[str, Any],
    stdio: tuple[int, int, int],
    console_sock: int | None,
    cgroup_dirs: Mapping[str, str],
    sync_fd: int,
    go_fd: int | None = None,
    userns_sock: socket.socket | None = None,
) -> None:
    """Runs in the child; never returns (execve or _exit with the error reported on `sync_fd`).
    With `console_sock` (a TTY), the pty is made here and its master sent back on that socket.
    With `go_fd`, the monitor moves us into the cgroup meanwhile and says "go" on it once done.
    With `userns_sock`, the spec has a new user namespace whose maps the monitor writes (table 2)."""
    sc = LinuxSyscalls()
    try:
        process = spec["process"]
        linux = spec.get("linux") or {}
        set_stdio(stdio)
        # 1. The cgroup: joined here, first, when we do it ourselves; else the monitor is moving us (see
        #    monitor._fork) and we must be in it before a cgroup namespace is made (it is rooted at the
        #    cgroup we are in) and before execve (the program must run under its limits).
        if go_fd is None:
            for d in cgroup_dirs.values():
                with open(os.path.join(d, "cgroup.procs"), "w") as f:
                    f.write("0")
        # 2. Namespaces. Joined ones (path) before new ones; pid was unshared by the monitor before fork
        #    (it only applies to children), so we already are PID 1 of a new pid namespace.
        if userns_sock is not None:  # the user namespace first (see the second table above)
            flags = _enter_user_namespace(sc, process, linux, userns_sock, go_fd)
            go_fd = None
        else:
            flags = 0
            for ns in linux.get("namespaces") or []:
                if ns["type"] == "pid":
                    continue
                if ns["type"] == "cgroup":
                    _wait_for_cgroup(go_fd)
                    go_fd = None
                if ns.get("path"):
                    sc.setns(ns["path"], s.NAMESPACE_FLAGS[ns["type"]])
                else:
                    flags |= s.NAMESPACE_FLAGS[ns["type"]]
            sc.unshare(flags)
        if flags & s.CLONE_NEWNET:
            loopback_up()
        # 3. Filesystem: propagation private, rootfs bind, mounts, /dev, console (needs the new mount ns).
        rootfs.prepare_rootfs(sc, spec, cgroup_dirs, None)
        #    The TTY: a pty of the container's devpts (mounted just now), its slave bound at /dev/console
        #    as runc does; opened before pivot_root, the slave still reads as /dev/pts/N afterwards.
        if console_sock is not None:
            root = spec["root"]["path"]
            pts = rootfs.in_root(root, "/dev/pts")
            # A spec without a devpts at /dev/pts (custom mounts): the host's, as before.
            master, slave, path = console.new_pty(pts if os.path.exists(pts + "/ptmx") else "/dev/pts")
            rootfs.bind_console(sc, root, path)
            console.send_master(console_sock, master)
            console.take_as_stdio(slave, _uid(process))
        # 4. pivot_root: from here on every path is a container path.
        rootfs.pivot_root(sc, spec["root"]["path"])
        # 5. Hostname needs the new UTS namespace; sysctls must be written before /proc/sys turns read-only.
        if spec.get("hostname") and flags & s.CLONE_NEWUTS:
            sc.sethostname(spec["hostname"])
        if spec.get("domainname") and flags & s.CLONE_NEWUTS:
            sc.setdomainname(spec["domainname"])
        for key, value in (linux.get("sysctl") or {}).items():
            sc.write_file("/proc/sys/" + key.replace(".", "/"), value)
        # 6. Masked and read-only paths over the container's own /proc and /sys.
        rootfs.mask_paths(sc, list(linux.get("maskedPaths") or []), list(linux.get("readonlyPaths") or []))
        # 7. A read-only root last: mount points had to be created in it first.
        rootfs.finalize_root(sc, bool((spec.get("root") or {}).get("readonly")))
        # 8. In our cgroup by now; then cwd, rlimits, no_new_privs, seccomp, capabilities, user, execve.
        _wait_for_cgroup(go_fd)
        exec_process(sc, process, sync_fd, linux.get("seccomp"))
    except BaseException as err:  # noqa: BLE001 - every failure must reach the monitor, then _exit
        report_and_exit(sync_fd, err)


USERNS_MAP = b"map"  # stage 1 -> monitor: my user namespace exists, write its uid_map and gid_map
USERNS_MAPPED = b"ok"  # monitor -> stage 1: written
USERNS_PID = b"pid "  # stage 1 -> monitor: "pid <n>", the container's init as the host sees it


def _enter_user_namespace(sc: LinuxSyscalls, process: Mapping[str, Any], linux: Mapping[str, Any],
                          channel: socket.socket, go_fd: int | None) -> int:
    """Stage 1 of a remapped start (table 2). Returns, in stage 2 only, the namespaces made after the
    user namespace (for the caller's loopback/hostname steps); stage 1 itself ends here."""
    # Only the host's root may raise hard limits or lower oom_score_adj: before we stop being it.
    # (exec_process sets the same values again later, which needs no privilege.)
    apply_limits(process)
    new = 0
    user_path = ""
    for ns in linux.get("namespaces") or []:
        if ns["type"] == "user":
            user_path = ns.get("path") or ""
        elif ns.get("path"):  # (pid: for our children; stage 1 stays in the monitor's, see monitor._fork)
            sc.setns(ns["path"], s.NAMESPACE_FLAGS[ns["type"]])
        else:
            new |= s.NAMESPACE_FLAGS[ns["type"]]
    if user_path:  # another container's (sharing its pid/ipc/network namespace): mapped already
        sc.setns(user_path, s.CLONE_NEWUSER)
    else:
        sc.unshare(s.CLONE_NEWUSER)
        channel.send(USERNS_MAP)
        if channel.recv(16) != USERNS_MAPPED:
            raise InitError("the monitor could not write the user namespace's id maps")
    # Until now our ids are the host's root, unmapped here (seen as the overflow id): become the mapped
    # root, so files we create are owned by it. Our capabilities in the new namespace are kept.
    os.setgroups([])
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)
    _wait_for_cgroup(go_fd)  # the next fork's child must start in the cgroup; cgroupns is rooted there
    sc.unshare(new)
    pid = os.fork()
    if pid:
        channel.send(USERNS_PID + str(pid).encode())
        os._exit(0)
    channel.close()
    os.setsid()  # stage 2 leads its own session (a TTY becomes its controlling terminal)
    return new


def apply_limits(process: Mapping[str, Any]) -> None:
    apply_rlimits(process.get("rlimits") or [])
    if process.get("oomScoreAdj"):
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(process["oomScoreAdj"]))


def _wait_for_cgroup(go_fd: int | None) -> None:
    """Block until the monitor has moved us into the container's cgroup (once; later calls pass None)."""
    if go_fd is None:
        return
    word = os.read(go_fd, 1)
    os.close(go_fd)
    if word != b"g":
        raise InitError(NO_CGROUP)


def exec_init(
    process: Mapping[str, Any],
    target_pid: int,
    stdio: tuple[int, int, int],
    cgroup_procs: list[str],
    sync_fd: int,
    seccomp_profile: Mapping[str, Any] | None = None,
    console_sock: int | None = None,
) -> None:
    """`docker exec`: join a running container's cgroup and namespaces, then the same tail as init.

    The exec monitor has already setns'd its *children's* pid namespace, so this child is inside it.
    """
    sc = LinuxSyscalls()
    try:
        set_stdio(stdio)
        for procs in cgroup_procs:
            with open(procs, "w") as f:
                f.write("0")
        # cgroup before mnt (the target's mount ns hides the host's /proc/<pid>); mnt last of all. The
        # user namespace after the ones it may not own (an engine-made network namespace belongs to the
        # host's: joining it needs the host's root), before mnt.
        for name in ("cgroup", "ipc", "uts", "net", "user", "mnt"):
            path = f"/proc/{target_pid}/ns/{name}"
            try:
                if os.readlink(path) == os.readlink(f"/proc/self/ns/{name}"):
                    continue
            except OSError:
                continue
            nstype = {
                "cgroup": s.CLONE_NEWCGROUP,
                "ipc": s.CLONE_NEWIPC,
                "uts": s.CLONE_NEWUTS,
                "net": s.CLONE_NEWNET,
                "user": s.CLONE_NEWUSER,
                "mnt": s.CLONE_NEWNS,
            }[name]
            if name == "user":
                apply_limits(process)  # as in stage 1: while we still are the host's root
            sc.setns(path, nstype)
            if name == "user":  # the container's root, as the init became (ids mapped there)
                os.setgroups([])
                os.setresgid(0, 0, 0)
                os.setresuid(0, 0, 0)
        # The TTY from the container's own devpts (reachable now that we are in its mount namespace).
        if console_sock is not None:
            master, slave, _path = console.new_pty("/dev/pts")
            console.send_master(console_sock, master)
            console.take_as_stdio(slave, _uid(process))
        exec_process(sc, process, sync_fd, seccomp_profile)
    except BaseException as err:  # noqa: BLE001
        report_and_exit(sync_fd, err)
