"""Runs as its own small process (never a fork of the daemon): chroots into a container's root so every
path and symlink resolves inside it, then stats, tars or untars one path.

    python -m engine.containers.archive_helper stat|get|put|export ROOT PATH [--no-overwrite-dir-non-dir]
        [--idmap UIDSTART:UIDCOUNT:GIDSTART:GIDCOUNT]   (a --userns-remap container: put takes owners as
                           container ids, stored as the host ids they map to, missing parents the remapped
                           root's; export shows the container's ids; stat and get the host's, as dockerd)
        [--mounts JSON]   (a stopped container: {"overlay": [cwd, options], "binds": [{source, destination,
                           rw}]}: its rootfs mounted at ROOT and its volumes over it, in a mount namespace
                           of the helper's own, before the chroot)

/proc and /sys are shown as dockerd shows them (it reads the container's rootfs, not the live mounts):
empty directories; paths below them are not found.

Errors: exit 2 "not found", exit 3 "not a directory", exit 4 other; message on stderr.
"""

from __future__ import annotations

import datetime
import errno
import json
import os
import stat
import sys
import tarfile
from typing import Any

GO_DIR, GO_SYMLINK, GO_DEVICE, GO_PIPE, GO_SOCKET = 1 << 31, 1 << 27, 1 << 26, 1 << 25, 1 << 24
GO_SETUID, GO_SETGID, GO_CHARDEV, GO_STICKY = 1 << 23, 1 << 22, 1 << 21, 1 << 20


def go_mode(mode: int) -> int:
    """A stat mode as Go's os.FileMode, which docker cp's clients decode."""
    out = mode & 0o777
    fmt = stat.S_IFMT(mode)
    out |= {
        stat.S_IFDIR: GO_DIR,
        stat.S_IFLNK: GO_SYMLINK,
        stat.S_IFIFO: GO_PIPE,
        stat.S_IFSOCK: GO_SOCKET,
        stat.S_IFBLK: GO_DEVICE,
        stat.S_IFCHR: GO_DEVICE | GO_CHARDEV,
    }.get(fmt, 0)
    if mode & stat.S_ISUID:
        out |= GO_SETUID
    if mode & stat.S_ISGID:
        out |= GO_SETGID
    if mode & stat.S_ISVTX:
        out |= GO_STICKY
    return out


def _stat(path: str) -> dict[str, object]:
    st = os.lstat(path)
    mtime = datetime.datetime.fromtimestamp(st.st_mtime, datetime.UTC).isoformat().replace("+00:00", "Z")
    link = ""
    if stat.S_ISLNK(st.st_mode):
        target = os.readlink(path)
        link = (
            target
            if target.startswith("/")
            else os.path.normpath(os.path.join(os.path.dirname(path), target))
        )
    name = os.path.basename(path.rstrip("/")) or "/"
    return {"name": name, "size": st.st_size, "mode": go_mode(st.st_mode), "mtime": mtime, "linkTarget": link}


_CONTENT_ERRNOS = frozenset(
    (errno.ENOENT, errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.EINVAL, errno.ELOOP)
)


def _safe_members(tar: tarfile.TarFile, dest: str, no_overwrite: bool):  # type: ignore[no-untyped-def]
    for member in tar:
        name = member.name.lstrip("/")
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise ValueError(f"refusing to extract {member.name!r}: it leaves the destination")
        member.name = "/".join(parts) or "."
        if member.islnk():
            lparts = [p for p in member.linkname.lstrip("/").split("/") if p not in ("", ".")]
            if ".." in lparts:
                raise ValueError(f"refusing hard link {member.linkname!r}: it leaves the destination")
            # a hard link names another member of the archive: relative to the destination, as dockerd
            # takes it, whether written with a leading "/" or not
            member.linkname = "/".join(lparts)
        if no_overwrite:
            target = os.path.join(dest, member.name)
            if os.path.lexists(target):
                is_dir = os.path.isdir(target) and not os.path.islink(target)
                if is_dir != member.isdir():
                    raise ValueError(
                        f"cannot overwrite {'directory' if is_dir else 'non-directory'} "
                        f"{member.name!r} with {'directory' if member.isdir() else 'non-directory'}"
                    )
        yield member


OVERFLOW_ID = 65534


class IdMap:
    """A remapped container's ids: container id n is host id start+n for n below count."""

    def __init__(self, spec: str) -> None:
        self.uid_start, self.uid_count, self.gid_start, self.gid_count = (int(p) for p in spec.split(":"))

    def to_host(self, member: tarfile.TarInfo) -> None:
        for cid, count in ((member.uid, self.uid_count), (member.gid, self.gid_count)):
            if not 0 <= cid < count:  # dockerd's words (its chrootarchive's exit status included)
                raise ValueError("Error processing tar file(exit status 1): "
                                 f"Container ID {cid} cannot be mapped to a host ID")
        member.uid += self.uid_start
        member.gid += self.gid_start

    def to_container(self, member: tarfile.TarInfo) -> tarfile.TarInfo:
        """An exported entry's owner as the container sees it (an id outside the map: the kernel's overflow
        id, as inside); names looked up again, in the container's files."""
        import grp
        import pwd

        uid, gid = member.uid - self.uid_start, member.gid - self.gid_start
        member.uid = uid if 0 <= uid < self.uid_count else OVERFLOW_ID
        member.gid = gid if 0 <= gid < self.gid_count else OVERFLOW_ID
        try:
            member.uname = pwd.getpwuid(member.uid).pw_name
        except KeyError:
            member.uname = ""
        try:
            member.gname = grp.getgrgid(member.gid).gr_name
        except KeyError:
            member.gname = ""
        return member

    def make_parents(self, dest: str, name: str) -> None:
        """The directories above a member the archive does not list: the remapped root's, as dockerd makes
        them (tarfile would leave them the host root's)."""
        here = dest
        for part in name.split("/")[:-1]:
            here = os.path.join(here, part)
            if not os.path.lexists(here):
                os.mkdir(here, 0o755)
                os.lchown(here, self.uid_start, self.gid_start)


LIVE = ("/proc", "/sys")  # kernel filesystems in a running container: shown empty, as dockerd does


def _live(path: str) -> bool:
    real = os.path.realpath(path)
    return any(real.startswith(top + "/") for top in LIVE)


def _add(tar: tarfile.TarFile, path: str, arcname: str) -> None:
    """`path` and what is below it, never descending into /proc or /sys (their entries come and go)."""
    tar.add(path, arcname=arcname, recursive=False)
    if os.path.isdir(path) and not os.path.islink(path) and os.path.realpath(path) not in LIVE:
        for entry in sorted(os.listdir(path)):
            _add(tar, os.path.join(path, entry), f"{arcname}/{entry}")


def _mount_own(root: str, mounts: dict[str, Any]) -> None:
    """The container's overlay at ROOT and its volumes over it, in a private mount namespace (ours only)."""
    from engine.kernel import syscalls as sc

    calls = sc.LinuxSyscalls()
    calls.unshare(sc.CLONE_NEWNS)
    calls.mount("none", "/", "", sc.MS_REC | sc.MS_PRIVATE, "")
    cwd, options = mounts["overlay"]
    here = os.getcwd()
    os.chdir(cwd)  # the options name the layers relative to the store
    calls.mount("overlay", root, "overlay", 0, options)
    os.chdir(here)
    for bind in mounts["binds"]:
        target = os.path.join(root, str(bind["destination"]).lstrip("/"))
        if not os.path.lexists(target) or os.path.islink(target):
            continue  # never started: no mount point yet (and never through a symlink out of ROOT)
        calls.mount(str(bind["source"]), target, "", sc.MS_BIND | sc.MS_REC, "")
        if not bind.get("rw", True):
            calls.mount("none", target, "", sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY, "")


def main(argv: list[str]) -> int:
    mode, root, path = argv[0], argv[1], argv[2]
    no_overwrite = "--no-overwrite-dir-non-dir" in argv[3:]
    idmap = IdMap(argv[argv.index("--idmap") + 1]) if "--idmap" in argv[3:] else None
    if "--mounts" in argv[3:]:
        _mount_own(root, json.loads(argv[argv.index("--mounts") + 1]))
    try:
        os.chroot(root)
    except FileNotFoundError:  # /proc/<pid>/root of a container that has just exited
        sys.stderr.write(f"container root is gone: {root}\n")
        return 5
    os.chdir("/")
    path = "/" + path.lstrip("/")
    try:
        if _live(path):
            raise FileNotFoundError(path)
        if mode == "stat":
            sys.stdout.write(json.dumps(_stat(path)))
            return 0
        if mode == "get":
            st = _stat(path)
            name = st["name"] if st["name"] != "/" else "."
            with tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                _add(tar, path, str(name))
            return 0
        if mode == "export":
            with tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for name in sorted(os.listdir("/")):
                    tar.add("/" + name, arcname=name, recursive=True,
                            filter=idmap.to_container if idmap is not None else None)
            return 0
        if mode == "put":
            if not os.path.exists(path):
                raise FileNotFoundError(path)
            if not os.path.isdir(path):
                sys.stderr.write(f"extraction point is not a directory: {path}\n")
                return 3
            try:
                with tarfile.open(fileobj=sys.stdin.buffer, mode="r|*") as tar:
                    for member in _safe_members(tar, path, no_overwrite):
                        if idmap is not None:
                            idmap.to_host(member)
                            idmap.make_parents(path, member.name)
                        tar.extract(member, path, set_attrs=True, numeric_owner=True, filter="fully_trusted")
            except KeyError as e:  # tarfile: a hard link to a member the archive does not hold
                sys.stderr.write(f"invalid hard link: {e.args[0] if e.args else e}\n")
                return 3
            except OSError as e:
                if e.errno not in _CONTENT_ERRNOS:
                    raise
                # an archive that does not fit what is there (a link to a missing member, a file over a
                # directory): the client's error, not the engine's
                sys.stderr.write(f"{e}\n")
                return 3
            return 0
    except FileNotFoundError:
        sys.stderr.write(f"not found: {path}\n")
        return 2
    except (ValueError, tarfile.TarError) as e:  # the archive itself is bad: the client's error
        sys.stderr.write(f"{e}\n")
        return 3
    except OSError as e:
        sys.stderr.write(f"{e}\n")
        return 4
    sys.stderr.write(f"unknown mode {mode}\n")
    return 4


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
