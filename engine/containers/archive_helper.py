"""Runs as its own small process (never a fork of the daemon): chroots into a container's root so every
path and symlink resolves inside it, then stats, tars or untars one path.

    python -m engine.containers.archive_helper stat|get|put|export ROOT PATH [--no-overwrite-dir-non-dir]

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


def main(argv: list[str]) -> int:
    mode, root, path = argv[0], argv[1], argv[2]
    no_overwrite = "--no-overwrite-dir-non-dir" in argv[3:]
    try:
        os.chroot(root)
    except FileNotFoundError:  # /proc/<pid>/root of a container that has just exited
        sys.stderr.write(f"container root is gone: {root}\n")
        return 5
    os.chdir("/")
    path = "/" + path.lstrip("/")
    try:
        if mode == "stat":
            sys.stdout.write(json.dumps(_stat(path)))
            return 0
        if mode == "get":
            st = _stat(path)
            name = st["name"] if st["name"] != "/" else "."
            with tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                tar.add(path, arcname=str(name), recursive=True)
            return 0
        if mode == "export":
            with tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for name in sorted(os.listdir("/")):
                    tar.add("/" + name, arcname=name, recursive=True)
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
