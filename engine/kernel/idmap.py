"""User namespace remapping (dockerd's --userns-remap): container root is an unprivileged host uid.

The image layers stay as they are on disk (owned by host root) and are shown to the container through
idmapped mounts (mount_setattr(2) with MOUNT_ATTR_IDMAP, Linux 5.12+): host uid N appears as start+N, which
the container's user namespace maps back to N. The container's own upper directory is owned by the remapped
root, so what the container writes is stored under the remapped ids, as with dockerd.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from engine.errors import SystemError_

_SYS_OPEN_TREE = 428
_SYS_MOVE_MOUNT = 429
_SYS_MOUNT_SETATTR = 442
_OPEN_TREE_CLONE = 1
_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000
_AT_RECURSIVE = 0x8000
_MOVE_MOUNT_F_EMPTY_PATH = 4
_MOUNT_ATTR_IDMAP = 0x00100000


class _MountAttr(ctypes.Structure):
    _fields_ = [
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


@dataclass(frozen=True)
class Remap:
    """Container ids 0..count-1 are host ids start..start+count-1 (first ranges of /etc/subuid, subgid)."""

    user: str
    uid_start: int
    uid_count: int
    gid_start: int
    gid_count: int

    def uid(self, container_uid: int) -> int:
        return self.uid_start + container_uid if 0 <= container_uid < self.uid_count else container_uid

    def gid(self, container_gid: int) -> int:
        return self.gid_start + container_gid if 0 <= container_gid < self.gid_count else container_gid


def apply_to_spec(spec: dict[str, Any], remap: Remap, join: str = "") -> dict[str, Any]:
    """A new user namespace with the remap's id mappings (the runtime creates it first, then the others),
    or, with `join` (a /proc/<pid>/ns/user), that existing one: a container sharing another's pid, ipc or
    network namespace joins its user namespace too, as with dockerd (they belong to it)."""
    linux = spec.setdefault("linux", {})
    spaces = [ns for ns in linux.get("namespaces") or [] if ns.get("type") != "user"]
    linux["namespaces"] = [{"type": "user", **({"path": join} if join else {})}, *spaces]
    linux["uidMappings"] = [{"containerID": 0, "hostID": remap.uid_start, "size": remap.uid_count}]
    linux["gidMappings"] = [{"containerID": 0, "hostID": remap.gid_start, "size": remap.gid_count}]
    if any(ns.get("type") == "network" and ns.get("path") for ns in spaces):
        # The engine's network namespace belongs to the host's user namespace, where the remapped root
        # may not mount sysfs: the host's /sys, bound read-only instead (what the built-in runtime falls
        # back to on its own; runc 1.1 would fail the start).
        spec["mounts"] = [_sys_bind(m) if m.get("type") == "sysfs" else m for m in spec.get("mounts") or []]
    return spec


def _sys_bind(sysfs: dict[str, Any]) -> dict[str, Any]:
    options = [o for o in sysfs.get("options") or [] if o not in ("bind", "rbind")]
    return {**sysfs, "type": "bind", "source": "/sys", "options": ["rbind", *options]}


def userns_fd(remap: Remap) -> int:
    """An fd of a user namespace with the remap's mappings, for idmapped mounts. The helper process that
    made it is gone when this returns: the open fd keeps the namespace alive."""
    helper = subprocess.Popen(["unshare", "--user", "cat"], stdin=subprocess.PIPE)  # waits on its stdin
    try:
        ours = os.stat("/proc/self/ns/user").st_ino
        deadline = time.monotonic() + 5
        while os.stat(f"/proc/{helper.pid}/ns/user").st_ino == ours:  # until unshare(2) has happened
            if helper.poll() is not None or time.monotonic() > deadline:
                raise OSError("unshare --user did not make a user namespace")
            time.sleep(0.001)
        with open(f"/proc/{helper.pid}/uid_map", "w") as f:
            f.write(f"0 {remap.uid_start} {remap.uid_count}\n")
        with open(f"/proc/{helper.pid}/setgroups", "w") as f:
            f.write("deny")
        with open(f"/proc/{helper.pid}/gid_map", "w") as f:
            f.write(f"0 {remap.gid_start} {remap.gid_count}\n")
        return os.open(f"/proc/{helper.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise SystemError_(f"cannot make the remapping user namespace: {e}") from None
    finally:
        helper.kill()
        helper.wait()


def clone_idmapped(source: str, target: str, ns_fd: int) -> None:
    """Mount a copy of the tree at `source` on `target`, its owners shifted by the namespace's mapping."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.syscall(
        _SYS_OPEN_TREE, _AT_FDCWD, source.encode(), _OPEN_TREE_CLONE | _AT_RECURSIVE | os.O_CLOEXEC
    )
    if fd < 0:
        raise _error("open_tree", source)
    try:
        attr = _MountAttr(_MOUNT_ATTR_IDMAP, 0, 0, ns_fd)
        if libc.syscall(
            _SYS_MOUNT_SETATTR,
            fd,
            b"",
            _AT_EMPTY_PATH | _AT_RECURSIVE,
            ctypes.byref(attr),
            ctypes.sizeof(attr),
        ):
            raise _error("mount_setattr(MOUNT_ATTR_IDMAP)", source)
        if libc.syscall(_SYS_MOVE_MOUNT, fd, b"", _AT_FDCWD, target.encode(), _MOVE_MOUNT_F_EMPTY_PATH):
            raise _error("move_mount", target)
    finally:
        os.close(fd)


def _error(call: str, path: str) -> SystemError_:
    errno = ctypes.get_errno()
    return SystemError_(
        f"{call} {path}: {os.strerror(errno)} (idmapped mounts need Linux 5.12+ and ext4/xfs/btrfs)"
    )
