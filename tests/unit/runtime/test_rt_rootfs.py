"""The mount recipe, checked call by call against the recording fake (no root needed)."""

from __future__ import annotations

import errno
import os

import pytest

from engine.kernel import syscalls as s
from engine.kernel.syscalls import RecordingSyscalls
from engine.runtime import rootfs
from engine.runtime.oci import build_spec
from engine.runtime.users import ResolvedUser


def make_spec(**host):
    return build_spec(
        {"Cmd": ["true"]},
        host,
        rootfs="/rf",
        mounts=[
            {"destination": "/data", "type": "bind", "source": "/host/data", "options": ["rbind", "ro"]},
            {"destination": "/etc/hosts", "type": "bind", "source": "/host/hosts", "options": ["bind"]},
        ],
        hostname="h",
        cgroups_path="/composer/x",
        netns_path=None,
        user=ResolvedUser(0, 0),
    )


def test_prepare_rootfs_order():
    sc = RecordingSyscalls(
        existing={
            "/rf": "dir",
            "/rf/proc": "dir",
            "/rf/dev": "dir",
            "/rf/sys": "dir",
            "/rf/etc": "dir",
            "/host/hosts": "file",
            "/host/data": "dir",
        }
    )
    spec = make_spec()
    rootfs.prepare_rootfs(
        sc,
        spec,
        {"memory": "/sys/fs/cgroup/memory/composer/x", "name=systemd": "/sys/fs/cgroup/systemd/composer/x"},
        console="/dev/pts/7",
    )
    calls = sc.calls
    # propagation is made private before anything else, then the rootfs is bound onto itself
    assert calls[0] == ("mount", "", "/", "", s.MS_PRIVATE | s.MS_REC, "")
    assert calls[1] == ("mount", "/rf", "/rf", "", s.MS_BIND | s.MS_REC, "")
    mounts = [c for c in calls if c[0] == "mount"]
    targets = [c[2] for c in mounts]
    # /proc before /dev before /dev/pts; user mounts after the defaults; /dev nodes after /dev exists
    assert targets.index("/rf/proc") < targets.index("/rf/dev") < targets.index("/rf/dev/pts")
    assert ("mount", "proc", "/rf/proc", "proc", s.MS_NOSUID | s.MS_NOEXEC | s.MS_NODEV, "") in calls
    assert (
        "mount",
        "sysfs",
        "/rf/sys",
        "sysfs",
        s.MS_NOSUID | s.MS_NOEXEC | s.MS_NODEV | s.MS_RDONLY,
        "",
    ) in calls
    devpts = next(c for c in mounts if c[2] == "/rf/dev/pts")
    assert "newinstance" in devpts[5] and "ptmxmode=0666" in devpts[5]
    # a read-only bind is a bind followed by a read-only remount
    data = [c for c in mounts if c[2] == "/rf/data"]
    assert data[0][4] == s.MS_BIND | s.MS_REC
    assert data[1][4] & (s.MS_REMOUNT | s.MS_RDONLY | s.MS_BIND) == s.MS_REMOUNT | s.MS_RDONLY | s.MS_BIND
    # a file bind gets a file mountpoint
    assert ("touch", "/rf/etc/hosts") in calls
    # cgroup hierarchies bound under a tmpfs, then the tmpfs made read-only
    assert ("mkdir", "/rf/sys/fs/cgroup/systemd") in calls
    assert (
        "mount",
        "/sys/fs/cgroup/memory/composer/x",
        "/rf/sys/fs/cgroup/memory",
        "",
        s.MS_BIND,
        "",
    ) in calls
    # /dev nodes bound from the host, the console from the pty
    assert ("mount", "/dev/null", "/rf/dev/null", "", s.MS_BIND, "") in calls
    assert ("symlink", "pts/ptmx", "/rf/dev/ptmx") in calls
    assert calls[-1] == ("mount", "/dev/pts/7", "/rf/dev/console", "", s.MS_BIND, "")
    assert targets.index("/rf/dev/pts") < targets.index("/rf/dev/null") and targets.index(
        "/rf/data"
    ) < targets.index("/rf/dev/null")


def test_pivot_root_detaches_old_root_after_making_it_slave():
    sc = RecordingSyscalls()
    rootfs.pivot_root(sc, "/rf")
    assert sc.calls == [
        ("chdir", "/rf"),
        ("pivot_root", ".", "."),
        ("mount", "", ".", "", s.MS_SLAVE | s.MS_REC, ""),
        ("umount", ".", s.MNT_DETACH),
        ("chdir", "/"),
    ]


def test_masked_and_readonly_paths_and_readonly_root():
    sc = RecordingSyscalls(existing={"/proc/kcore": "file", "/sys/firmware": "dir", "/proc/sys": "dir"})
    proc_flags = s.MS_NOSUID | s.MS_NODEV | s.MS_NOEXEC
    sc.flags["/proc/sys"] = proc_flags  # the read-only remount keeps the flags of proc underneath
    rootfs.mask_paths(sc, ["/proc/kcore", "/sys/firmware", "/proc/absent"], ["/proc/sys", "/proc/nope"])
    rootfs.finalize_root(sc, True)
    assert sc.calls == [
        ("mount", "/dev/null", "/proc/kcore", "", s.MS_BIND, ""),
        ("mount", "tmpfs", "/sys/firmware", "tmpfs", s.MS_RDONLY, ""),
        ("mount", "/proc/sys", "/proc/sys", "", s.MS_BIND | s.MS_REC, ""),
        (
            "mount",
            "/proc/sys",
            "/proc/sys",
            "",
            proc_flags | s.MS_BIND | s.MS_REMOUNT | s.MS_RDONLY | s.MS_REC,
            "",
        ),
        ("mount", "", "/", "", s.MS_BIND | s.MS_REMOUNT | s.MS_RDONLY, ""),
    ]


def test_paths_cannot_climb_out_of_the_rootfs():
    assert rootfs.in_root("/rf", "/../../etc/passwd") == "/rf/etc/passwd"
    assert rootfs.in_root("/rf", "/") == "/rf"


def test_parse_options():
    flags, prop, data = rootfs.parse_options(["nosuid", "ro", "rw", "rprivate", "mode=755", "size=1k"])
    assert flags == s.MS_NOSUID and prop == s.MS_PRIVATE | s.MS_REC and data == "mode=755,size=1k"


def test_symlinks_resolve_inside_the_rootfs():
    sc = RecordingSyscalls(links={"/rf/etc/resolv.conf": "/run/resolv.conf", "/rf/run": "../var/run",
                                  "/rf/var/run/x": "../../../../../etc/shadow", "/rf/loop": "/loop"})
    assert rootfs.resolve_in_root(sc, "/rf", "/etc/resolv.conf") == "/rf/var/run/resolv.conf"
    assert rootfs.resolve_in_root(sc, "/rf", "/run/x") == "/rf/etc/shadow"  # clamped at the container's /
    assert rootfs.resolve_in_root(sc, "/rf", "/a/b") == "/rf/a/b"
    with pytest.raises(OSError, match="too many levels"):
        rootfs.resolve_in_root(sc, "/rf", "/loop")


def test_spec_devices_are_made_with_mknod_before_the_default_nodes():
    sc = RecordingSyscalls(existing={"/rf/dev": "dir"})
    rootfs.setup_dev(sc, "/rf", None, [{"path": "/dev/net/tun", "type": "c", "major": 10, "minor": 200,
                                        "fileMode": 0o666, "uid": 0, "gid": 0}])
    assert sc.calls[:2] == [("mkdir", "/rf/dev/net"), ("mknod", "/rf/dev/net/tun", 0o666, "c", 10, 200, 0, 0)]
    assert ("mount", "/dev/null", "/rf/dev/null", "", s.MS_BIND, "") in sc.calls


def test_in_a_user_namespace_devices_are_the_hosts_bound():
    """mknod is refused in a user namespace: the host's node of the same path is bound instead (runc)."""
    sc = RecordingSyscalls(existing={"/rf/dev": "dir"})
    rootfs.setup_dev(sc, "/rf", None, [{"path": "/dev/net/tun", "type": "c", "major": 10, "minor": 200,
                                        "fileMode": 0o666, "uid": 0, "gid": 0}], userns=True)
    assert sc.calls[:3] == [("mkdir", "/rf/dev/net"), ("touch", "/rf/dev/net/tun"),
                            ("mount", "/dev/net/tun", "/rf/dev/net/tun", "", s.MS_BIND, "")]
    assert "mknod" not in sc.names()


class _NoSysfs(RecordingSyscalls):
    """The kernel's answer in a user namespace that does not own the network namespace (EPERM)."""

    refusal = errno.EPERM

    def mount(self, source: str, target: str, fstype: str, flags: int, data: str) -> None:
        if fstype == "sysfs":
            raise OSError(self.refusal, os.strerror(self.refusal))
        super().mount(source, target, fstype, flags, data)


class _DeniedSysfs(_NoSysfs):
    refusal = errno.EACCES


def test_a_refused_sysfs_is_the_hosts_sys_bound_read_only():
    sc = _NoSysfs(existing={"/rf/sys": "dir", "/sys": "dir"})
    sysfs = {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]}
    rootfs.mount_one(sc, "/rf", sysfs, {})
    ro = s.MS_NOSUID | s.MS_NOEXEC | s.MS_NODEV | s.MS_RDONLY
    assert sc.calls == [
        ("mount", "/sys", "/rf/sys", "", s.MS_BIND | s.MS_REC, ""),
        ("mount", "/sys", "/rf/sys", "", s.MS_BIND | s.MS_REMOUNT | ro, ""),
    ]
    # any other refusal stays an error, with runc's wording
    with pytest.raises(OSError, match='error mounting "sysfs" to rootfs at "/sys": permission denied'):
        rootfs.mount_one(_DeniedSysfs(existing={"/rf/sys": "dir"}), "/rf", sysfs, {})
