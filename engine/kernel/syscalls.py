"""The Linux system calls the runtime needs, behind one small interface.

`LinuxSyscalls` calls libc through ctypes (Python 3.11 has no os.setns/os.unshare/mount); every
wrapper turns a failing errno into an OSError naming the call and its arguments. `RecordingSyscalls`
records the calls instead, so the mount/namespace recipe is unit-tested without root.
"""

from __future__ import annotations

import ctypes
import functools
import os
import stat
from dataclasses import dataclass, field

from engine._typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, Protocol

# clone(2) namespace flags
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

NAMESPACE_FLAGS = {
    "mount": CLONE_NEWNS,
    "cgroup": CLONE_NEWCGROUP,
    "uts": CLONE_NEWUTS,
    "ipc": CLONE_NEWIPC,
    "user": CLONE_NEWUSER,
    "pid": CLONE_NEWPID,
    "network": CLONE_NEWNET,
}
# /proc/<pid>/ns/<name> for each OCI namespace type
NAMESPACE_PROC_NAMES = {
    "mount": "mnt",
    "cgroup": "cgroup",
    "uts": "uts",
    "ipc": "ipc",
    "user": "user",
    "pid": "pid",
    "network": "net",
}

# mount(2) flags
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_SYNCHRONOUS = 0x10
MS_REMOUNT = 0x20
MS_MANDLOCK = 0x40
MS_DIRSYNC = 0x80
MS_NOSYMFOLLOW = 0x100
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_MOVE = 0x2000
MS_REC = 0x4000
MS_SILENT = 0x8000
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24

MNT_DETACH = 0x2

# prctl(2) options
PR_SET_PDEATHSIG = 1
PR_SET_KEEPCAPS = 8
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4

_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


if TYPE_CHECKING:  # only annotations name it: the zygote does not import typing

    class Syscalls(Protocol):
        """What the init recipe may do to the system; nothing else in it touches the kernel."""

        def mount(self, source: str, target: str, fstype: str, flags: int, data: str) -> None: ...
        def umount(self, target: str, flags: int) -> None: ...
        def pivot_root(self, new_root: str, put_old: str) -> None: ...
        def unshare(self, flags: int) -> None: ...
        def setns(self, path: str, nstype: int) -> None: ...
        def sethostname(self, name: str) -> None: ...
        def setdomainname(self, name: str) -> None: ...
        def chdir(self, path: str) -> None: ...
        def mkdir(self, path: str, mode: int) -> None: ...
        def touch(self, path: str) -> None: ...
        def symlink(self, target: str, path: str) -> None: ...
        def write_file(self, path: str, data: str) -> None: ...
        def kind(self, path: str) -> str | None: ...  # "dir", "file" (anything not a dir), or None if absent
        def readlink(self, path: str) -> str | None: ...  # the link's target, or None if not a symlink
        def lock_flags(
            self, path: str
        ) -> int: ...  # MS_NOSUID|MS_NODEV|MS_NOEXEC as the mount at path has them
        def mknod(
            self, path: str, mode: int, kind: str, major: int, minor: int, uid: int, gid: int
        ) -> None: ...


@functools.cache
def _libc() -> ctypes.CDLL:
    """Loaded once per process (the zygote loads it before forking monitors). By soname first:
    find_library runs `ldconfig -p`, a subprocess that cost ~10 ms on every container start."""
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:  # not glibc
        from ctypes.util import find_library  # here, not at the top: it costs every monitor ~1.3 MiB of RSS

        return ctypes.CDLL(find_library("c"), use_errno=True)


M_ARENA_MAX = -8  # mallopt(3)


def one_malloc_arena() -> None:
    """Have glibc serve every thread from one malloc arena (mallopt M_ARENA_MAX=1) instead of up to eight
    per CPU: the daemon's threads allocate under the GIL anyway, and each extra arena kept its own freed
    pages resident (1-3 MiB of the idle daemon, varying with which threads had run). Call it before any
    thread starts. Nothing without glibc."""
    mallopt = getattr(_libc(), "mallopt", None)
    if mallopt is not None:
        mallopt(M_ARENA_MAX, 1)


def malloc_trim() -> None:
    """Give the heap's free pages back to the kernel (glibc's malloc_trim(0)): memory freed after a pull,
    an image load or a build otherwise stays resident in the daemon for reuse. Nothing without glibc."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)


class LinuxSyscalls:
    """The real thing, through libc."""

    def __init__(self) -> None:
        self.libc = _libc()

    def _check(self, rc: int, call: str, *args: Any) -> int:
        if rc < 0:
            err = ctypes.get_errno()
            shown = ", ".join(repr(a) for a in args)
            raise OSError(err, f"{call}({shown}): {os.strerror(err)}")
        return rc

    def mount(self, source: str, target: str, fstype: str, flags: int, data: str) -> None:
        rc = self.libc.mount(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        )
        self._check(rc, "mount", source, target, fstype, hex(flags), data)

    def umount(self, target: str, flags: int) -> None:
        self._check(self.libc.umount2(target.encode(), flags), "umount2", target, flags)

    def pivot_root(self, new_root: str, put_old: str) -> None:
        # glibc has no wrapper; 155 is pivot_root on x86_64, 41 on aarch64
        nr = 41 if os.uname().machine == "aarch64" else 155
        self._check(
            self.libc.syscall(nr, new_root.encode(), put_old.encode()), "pivot_root", new_root, put_old
        )

    def unshare(self, flags: int) -> None:
        self._check(self.libc.unshare(flags), "unshare", hex(flags))

    def setns(self, path: str, nstype: int) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            self._check(self.libc.setns(fd, nstype), "setns", path, hex(nstype))
        finally:
            os.close(fd)

    def sethostname(self, name: str) -> None:
        raw = name.encode()
        self._check(self.libc.sethostname(raw, len(raw)), "sethostname", name)

    def setdomainname(self, name: str) -> None:
        raw = name.encode()
        self._check(self.libc.setdomainname(raw, len(raw)), "setdomainname", name)

    def chdir(self, path: str) -> None:
        os.chdir(path)

    def mkdir(self, path: str, mode: int) -> None:
        os.makedirs(path, mode, exist_ok=True)

    def touch(self, path: str) -> None:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))

    def symlink(self, target: str, path: str) -> None:
        os.symlink(target, path)

    def write_file(self, path: str, data: str) -> None:
        with open(path, "w") as f:
            f.write(data)

    def kind(self, path: str) -> str | None:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        return "dir" if stat.S_ISDIR(st.st_mode) else "file"

    def readlink(self, path: str) -> str | None:
        try:
            return os.readlink(path)
        except OSError:
            return None

    def lock_flags(self, path: str) -> int:
        # statvfs's ST_NOSUID/ST_NODEV/ST_NOEXEC have the values of MS_NOSUID/MS_NODEV/MS_NOEXEC
        return os.statvfs(path).f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC)

    def mknod(self, path: str, mode: int, kind: str, major: int, minor: int, uid: int, gid: int) -> None:
        node = stat.S_IFCHR if kind in ("c", "u") else stat.S_IFBLK
        os.mknod(path, node | (mode & 0o7777), os.makedev(major, minor))
        os.chown(path, uid, gid)

    # --- process credentials and capabilities (used only by the init and exec paths) ---

    def prctl(self, option: int, arg2: int = 0, arg3: int = 0) -> int:
        return self._check(
            self.libc.prctl(option, ctypes.c_ulong(arg2), ctypes.c_ulong(arg3), 0, 0),
            "prctl",
            option,
            arg2,
            arg3,
        )

    def capset(self, effective: int, permitted: int, inheritable: int) -> None:
        header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
        data = (_CapData * 2)()
        for i in range(2):
            data[i].effective = (effective >> (32 * i)) & 0xFFFFFFFF
            data[i].permitted = (permitted >> (32 * i)) & 0xFFFFFFFF
            data[i].inheritable = (inheritable >> (32 * i)) & 0xFFFFFFFF
        self._check(self.libc.capset(ctypes.byref(header), data), "capset", hex(effective), hex(permitted))


@dataclass
class RecordingSyscalls:
    """A fake that records each call as a tuple; `existing` answers `kind()` (path -> "dir"/"file")."""

    existing: dict[str, str] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)  # answers lock_flags() (path -> MS_* bits)
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    hostname: str = ""

    def mount(self, source: str, target: str, fstype: str, flags: int, data: str) -> None:
        self.calls.append(("mount", source, target, fstype, flags, data))

    def umount(self, target: str, flags: int) -> None:
        self.calls.append(("umount", target, flags))

    def pivot_root(self, new_root: str, put_old: str) -> None:
        self.calls.append(("pivot_root", new_root, put_old))

    def unshare(self, flags: int) -> None:
        self.calls.append(("unshare", flags))

    def setns(self, path: str, nstype: int) -> None:
        self.calls.append(("setns", path, nstype))

    def sethostname(self, name: str) -> None:
        self.calls.append(("sethostname", name))

    def setdomainname(self, name: str) -> None:
        self.calls.append(("setdomainname", name))

    def chdir(self, path: str) -> None:
        self.calls.append(("chdir", path))

    def mkdir(self, path: str, mode: int) -> None:
        self.calls.append(("mkdir", path))
        self.existing[path] = "dir"

    def touch(self, path: str) -> None:
        self.calls.append(("touch", path))
        self.existing[path] = "file"

    def symlink(self, target: str, path: str) -> None:
        self.calls.append(("symlink", target, path))
        self.existing[path] = "file"

    def write_file(self, path: str, data: str) -> None:
        self.calls.append(("write_file", path, data))

    def kind(self, path: str) -> str | None:
        return self.existing.get(path)

    def readlink(self, path: str) -> str | None:
        return self.links.get(path)

    def lock_flags(self, path: str) -> int:
        return self.flags.get(path, 0)

    def mknod(self, path: str, mode: int, kind: str, major: int, minor: int, uid: int, gid: int) -> None:
        self.calls.append(("mknod", path, mode, kind, major, minor, uid, gid))
        self.existing[path] = "file"

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]
