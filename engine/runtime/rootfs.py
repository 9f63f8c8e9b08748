"""The container's filesystem recipe: mounts, /dev, pivot_root, masked and read-only paths.

Every kernel call goes through a `Syscalls` object so the whole sequence can be recorded and checked
without root (tests/unit/runtime). The order matters and each step says why.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping, Sequence

from engine._typecheck import TYPE_CHECKING
from engine.kernel import syscalls as s
from engine.util import securejoin

if TYPE_CHECKING:
    from typing import Any

    from engine.kernel.syscalls import Syscalls

_FLAGS: dict[str, tuple[bool, int]] = {  # option -> (clear?, flag)
    "ro": (False, s.MS_RDONLY),
    "rw": (True, s.MS_RDONLY),
    "nosuid": (False, s.MS_NOSUID),
    "suid": (True, s.MS_NOSUID),
    "nodev": (False, s.MS_NODEV),
    "dev": (True, s.MS_NODEV),
    "noexec": (False, s.MS_NOEXEC),
    "exec": (True, s.MS_NOEXEC),
    "sync": (False, s.MS_SYNCHRONOUS),
    "async": (True, s.MS_SYNCHRONOUS),
    "dirsync": (False, s.MS_DIRSYNC),
    "remount": (False, s.MS_REMOUNT),
    "mand": (False, s.MS_MANDLOCK),
    "nomand": (True, s.MS_MANDLOCK),
    "noatime": (False, s.MS_NOATIME),
    "atime": (True, s.MS_NOATIME),
    "nodiratime": (False, s.MS_NODIRATIME),
    "diratime": (True, s.MS_NODIRATIME),
    "relatime": (False, s.MS_RELATIME),
    "norelatime": (True, s.MS_RELATIME),
    "strictatime": (False, s.MS_STRICTATIME),
    "nostrictatime": (True, s.MS_STRICTATIME),
    "bind": (False, s.MS_BIND),
    "rbind": (False, s.MS_BIND | s.MS_REC),
    "nosymfollow": (False, s.MS_NOSYMFOLLOW),
}
_PROPAGATION = {
    "private": s.MS_PRIVATE,
    "rprivate": s.MS_PRIVATE | s.MS_REC,
    "shared": s.MS_SHARED,
    "rshared": s.MS_SHARED | s.MS_REC,
    "slave": s.MS_SLAVE,
    "rslave": s.MS_SLAVE | s.MS_REC,
    "unbindable": s.MS_UNBINDABLE,
    "runbindable": s.MS_UNBINDABLE | s.MS_REC,
}
# Bound from the host rather than created with mknod: works the same with or without CAP_MKNOD and
# whatever the rootfs's filesystem allows.
DEV_NODES = ("null", "zero", "full", "random", "urandom", "tty")
DEV_LINKS = (
    ("/proc/self/fd", "fd"),
    ("/proc/self/fd/0", "stdin"),
    ("/proc/self/fd/1", "stdout"),
    ("/proc/self/fd/2", "stderr"),
    ("pts/ptmx", "ptmx"),
)


def parse_options(options: list[str]) -> tuple[int, int, str]:
    """OCI mount options -> (mount flags, propagation flags, fs-specific data string)."""
    flags, propagation, data = 0, 0, []
    for opt in options:
        if opt in _FLAGS:
            clear, flag = _FLAGS[opt]
            flags = flags & ~flag if clear else flags | flag
        elif opt in _PROPAGATION:
            propagation |= _PROPAGATION[opt]
        else:
            data.append(opt)
    return flags, propagation, ",".join(data)


def in_root(rootfs: str, path: str) -> str:
    """`path` inside `rootfs`, lexically cleaned so ".." cannot climb out."""
    clean = os.path.normpath("/" + path).lstrip("/")
    return os.path.join(rootfs, clean) if clean else rootfs


def resolve_in_root(sc: Syscalls, rootfs: str, path: str) -> str:
    """Like `in_root`, but following the image's symlinks as the container would see them: an absolute
    link target is taken from the container's root, and nothing resolves outside it (runc's securejoin).
    Without this, a mount onto a symlinked /etc/resolv.conf would land wherever it points on the host."""
    return securejoin.resolve_in_root(rootfs, path, readlink=sc.readlink)


def _make_mountpoint(sc: Syscalls, target: str, as_file: bool) -> None:
    if sc.kind(target) is not None:
        return
    parent = os.path.dirname(target)
    if sc.kind(parent) is None:
        sc.mkdir(parent, 0o755)
    if as_file:
        sc.touch(target)
    else:
        sc.mkdir(target, 0o755)


def _bind(sc: Syscalls, source: str, target: str, flags: int, propagation: int) -> None:
    sc.mount(source, target, "", s.MS_BIND | (flags & s.MS_REC), "")
    # A bind ignores most flags; they take effect only on a remount of the bind.
    extra = flags & ~(s.MS_BIND | s.MS_REC | s.MS_REMOUNT)
    if extra:
        sc.mount(source, target, "", s.MS_BIND | s.MS_REMOUNT | extra, "")
    if propagation:
        sc.mount("", target, "", propagation, "")


def mount_one(sc: Syscalls, rootfs: str, m: Mapping[str, Any], cgroup_dirs: Mapping[str, str]) -> None:
    try:
        try:
            _mount_one(sc, rootfs, m, cgroup_dirs)
        except OSError as e:
            # sysfs may only be mounted by the root of the user namespace owning the network namespace:
            # in a user namespace joined to the engine's network namespace (the host's), it is refused.
            # runc's fallback: the host's /sys, bound recursively with the mount's (read-only) flags.
            if e.errno != errno.EPERM or m.get("type") != "sysfs":
                raise
            _mount_one(sc, rootfs, {**m, "type": "bind", "source": "/sys",
                                    "options": ["rbind", *(m.get("options") or [])]}, cgroup_dirs)
    except OSError as e:
        reason = os.strerror(e.errno).lower() if e.errno else str(e)
        raise OSError(e.errno, f'error mounting "{m.get("source")}" to rootfs at "{m["destination"]}": '
                               f"{reason}") from e


def _mount_one(sc: Syscalls, rootfs: str, m: Mapping[str, Any], cgroup_dirs: Mapping[str, str]) -> None:
    target = resolve_in_root(sc, rootfs, m["destination"])
    flags, propagation, data = parse_options(list(m.get("options") or []))
    kind = m.get("type") or ("bind" if flags & s.MS_BIND else "")
    source = m.get("source") or kind
    if kind == "bind" or flags & s.MS_BIND:
        _make_mountpoint(sc, target, sc.kind(source) == "file")
        _bind(sc, source, target, flags | s.MS_BIND, propagation)
        return
    _make_mountpoint(sc, target, False)
    if kind == "cgroup":
        _mount_cgroups(sc, target, flags, cgroup_dirs)
        return
    sc.mount(source, target, kind, flags, data)
    if propagation:
        sc.mount("", target, "", propagation, "")


def _mount_cgroups(sc: Syscalls, target: str, flags: int, cgroup_dirs: Mapping[str, str]) -> None:
    """Show the container its own cgroup at /sys/fs/cgroup: the host dirs of its cgroup, bound in.

    On v2 that is one bind; on v1 a tmpfs holding one bind per hierarchy (as runc lays it out).
    Binding (rather than mounting a fresh cgroupfs) works with and without a cgroup namespace.
    """
    ro = flags & s.MS_RDONLY
    if list(cgroup_dirs) == ["unified"]:
        _bind(sc, cgroup_dirs["unified"], target, s.MS_BIND | (flags & ~s.MS_REC), 0)
        return
    sc.mount("tmpfs", target, "tmpfs", s.MS_NOSUID | s.MS_NODEV | s.MS_NOEXEC, "mode=755")
    for name, host_dir in cgroup_dirs.items():
        sub = os.path.join(target, name.removeprefix("name="))
        sc.mkdir(sub, 0o755)
        _bind(sc, host_dir, sub, s.MS_BIND | s.MS_NOSUID | s.MS_NODEV | s.MS_NOEXEC | ro, 0)
    if ro:
        # Read-only only once the subdirectories exist.
        sc.mount(
            "tmpfs",
            target,
            "",
            s.MS_REMOUNT | s.MS_NOSUID | s.MS_NODEV | s.MS_NOEXEC | s.MS_RDONLY,
            "mode=755",
        )


def setup_dev(sc: Syscalls, rootfs: str, console: str | None,
              devices: Sequence[Mapping[str, Any]] = (), userns: bool = False) -> None:
    dev = in_root(rootfs, "/dev")
    # The spec's devices (HostConfig.Devices, or the host's /dev when privileged) are made with mknod,
    # as runc does: the host path may differ from the container path, and /dev is our own tmpfs. In a
    # user namespace mknod is refused whatever the capabilities: the host's node of that path is bound
    # instead (runc's rule too).
    for d in devices:
        target = resolve_in_root(sc, rootfs, d["path"])
        if sc.kind(os.path.dirname(target)) is None:
            sc.mkdir(os.path.dirname(target), 0o755)
        if userns:
            _make_mountpoint(sc, target, True)
            sc.mount(d["path"], target, "", s.MS_BIND, "")
        elif sc.kind(target) is None:
            sc.mknod(target, int(d.get("fileMode", 0o666)), d["type"], int(d["major"]), int(d["minor"]),
                     int(d.get("uid", 0)), int(d.get("gid", 0)))
    for name in DEV_NODES:
        target = os.path.join(dev, name)
        _make_mountpoint(sc, target, True)
        sc.mount(f"/dev/{name}", target, "", s.MS_BIND, "")
    for src, name in DEV_LINKS:
        if sc.kind(os.path.join(dev, name)) is None:
            sc.symlink(src, os.path.join(dev, name))
    if console:
        bind_console(sc, rootfs, console)


def bind_console(sc: Syscalls, rootfs: str, slave: str) -> None:
    """The pty's slave, bound where a TTY program looks for its console."""
    target = in_root(rootfs, "/dev/console")
    _make_mountpoint(sc, target, True)
    sc.mount(slave, target, "", s.MS_BIND, "")


def prepare_rootfs(
    sc: Syscalls, spec: Mapping[str, Any], cgroup_dirs: Mapping[str, str], console: str | None
) -> None:
    """Everything before pivot_root; runs in the new mount namespace."""
    rootfs = spec["root"]["path"]
    # 1. Stop our mounts from propagating back to the host (and the host's from reaching us later):
    #    must precede every other mount.
    propagation = (
        _PROPAGATION.get(spec.get("linux", {}).get("rootfsPropagation") or "rprivate", s.MS_PRIVATE)
        | s.MS_REC
    )
    sc.mount("", "/", "", propagation, "")
    # 2. pivot_root needs the new root to be a mount point: bind the rootfs onto itself.
    sc.mount(rootfs, rootfs, "", s.MS_BIND | s.MS_REC, "")
    # 3. The spec's mounts, in order: /proc before anything below it, /dev (a tmpfs) before /dev/pts...
    for m in spec.get("mounts") or []:
        mount_one(sc, rootfs, m, cgroup_dirs)
    # 4. /dev nodes after /dev's tmpfs exists (and after user mounts, which may not replace them).
    if any(m.get("destination") == "/dev" for m in spec.get("mounts") or []):
        linux = spec.get("linux") or {}
        userns = any(ns.get("type") == "user" for ns in linux.get("namespaces") or [])
        setup_dev(sc, rootfs, console, linux.get("devices") or [], userns)


def pivot_root(sc: Syscalls, rootfs: str) -> None:
    """Make `rootfs` the root and drop the old one (runc's pivot_root(".", ".") idiom, no temp dir)."""
    sc.chdir(rootfs)
    sc.pivot_root(".", ".")
    # The old root is now stacked under ".": make it a slave so the detach below cannot unmount the
    # host's mounts through propagation, then detach it.
    sc.mount("", ".", "", s.MS_SLAVE | s.MS_REC, "")
    sc.umount(".", s.MNT_DETACH)
    sc.chdir("/")


def mask_paths(sc: Syscalls, masked: list[str], readonly: list[str]) -> None:
    """After pivot_root: the paths are container paths, and /proc, /sys are the container's own."""
    for path in masked:
        kind = sc.kind(path)
        if kind == "dir":
            sc.mount("tmpfs", path, "tmpfs", s.MS_RDONLY, "")
        elif kind == "file":
            sc.mount("/dev/null", path, "", s.MS_BIND, "")
    for path in readonly:
        if sc.kind(path) is None:
            continue
        sc.mount(path, path, "", s.MS_BIND | s.MS_REC, "")
        # a remount sets every flag afresh: keep the nosuid/nodev/noexec of the mount underneath (proc's),
        # as runc does, or /proc/sys would come back executable and with devices
        locked = sc.lock_flags(path)
        sc.mount(path, path, "", locked | s.MS_BIND | s.MS_REMOUNT | s.MS_RDONLY | s.MS_REC, "")


def finalize_root(sc: Syscalls, readonly: bool) -> None:
    """Last filesystem step: a read-only root only after every mount point has been created in it."""
    if readonly:
        sc.mount("", "/", "", s.MS_BIND | s.MS_REMOUNT | s.MS_RDONLY, "")
