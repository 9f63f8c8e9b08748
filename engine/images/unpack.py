"""Unpack one layer tar into an overlayfs-ready directory (whiteouts as 0/0 char devices, opaque xattrs).

Every path is checked by `tarsafe` before it is created. Directory modes and times are applied last
(adding children changes a directory's mtime, and a read-only mode would block them).
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat
import tarfile
from typing import BinaryIO

from engine.errors import InvalidParameter
from engine.images import tarsafe
from engine.images.digest import CHUNK

log = logging.getLogger(__name__)

OPAQUE_XATTR = "trusted.overlay.opaque"


class _Unpacker:
    def __init__(self, root: str) -> None:
        self.root = root
        self.real_root = os.path.realpath(root)
        self.is_root = os.geteuid() == 0
        self.dir_attrs: dict[str, tarfile.TarInfo] = {}
        self.size = 0

    def host_path(self, rel: str) -> str:
        return os.path.join(self.root, rel) if rel else self.root

    def ensure_dir(self, rel: str) -> None:
        """Create missing directories of an already-resolved path (tars may omit parents)."""
        path = self.root
        for comp in [c for c in rel.split("/") if c]:
            path = os.path.join(path, comp)
            try:
                os.mkdir(path, 0o755)
            except FileExistsError:
                if not stat.S_ISDIR(os.lstat(path).st_mode):
                    msg = f"refusing layer: {rel!r} needs {comp!r} to be a directory"
                    raise tarsafe.UnsafeArchive(msg) from None

    def clear(self, path: str, keep_dir: bool) -> None:
        """Remove what is at `path` so a later member can replace it (tar semantics: last one wins)."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            if keep_dir:
                return
            rmtree(path)
            rel = os.path.relpath(path, self.root)
            for gone in [r for r in self.dir_attrs if r == rel or r.startswith(rel + "/")]:
                del self.dir_attrs[gone]  # a later symlink here must not receive the old dir's mode
        else:
            os.unlink(path)

    def own(self, path: str, member: tarfile.TarInfo) -> None:
        if self.is_root:
            os.chown(path, member.uid, member.gid, follow_symlinks=False)

    def xattrs(self, path: str, member: tarfile.TarInfo) -> None:
        for name, value in tarsafe.allowed_xattrs(member).items():
            try:
                os.setxattr(path, name, value, follow_symlinks=False)
            except OSError as exc:
                # user.* xattrs cannot exist on symlinks, and without root most namespaces are closed
                if exc.errno not in (errno.EPERM, errno.EACCES, errno.ENOTSUP):
                    raise
                if self.is_root and not os.path.islink(path):
                    raise
                log.debug("xattr skipped path=%s name=%s error=%s", path, name, exc.strerror)

    def apply(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        action = tarsafe.translate(member)
        if action.kind == "skip":
            return
        if action.kind == "opaque":
            rel = tarsafe.resolve_dir(self.root, action.path)
            self.ensure_dir(rel)
            os.setxattr(self.host_path(rel), OPAQUE_XATTR, b"y", follow_symlinks=False)
            return
        parent, name = tarsafe.resolve_parent(self.root, action.path)
        self.ensure_dir(parent)
        rel = f"{parent}/{name}" if parent else name
        path = self.host_path(rel)
        kind = action.kind
        if kind == "dir":
            self.clear(path, keep_dir=True)
            if not os.path.isdir(path) or os.path.islink(path):
                os.mkdir(path, 0o700)
            self.own(path, member)
            self.xattrs(path, member)
            self.dir_attrs[rel] = member
            return
        self.clear(path, keep_dir=False)
        if kind == "whiteout":
            os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(0, 0))
            self.own(path, member)
            return
        if kind == "file":
            self.write_file(tar, member, path)
        elif kind == "symlink":
            os.symlink(action.target, path)
        elif kind == "hardlink":
            self.hardlink(action.target, path, member)
            return  # a hard link shares the target's inode: mode, owner and times are already the target's
        elif kind in ("chardev", "blockdev"):
            fmt = stat.S_IFCHR if kind == "chardev" else stat.S_IFBLK
            os.mknod(path, fmt | (member.mode & 0o7777), os.makedev(member.devmajor, member.devminor))
        elif kind == "fifo":
            os.mkfifo(path, member.mode & 0o7777)
        self.own(path, member)
        if kind != "symlink":
            os.chmod(path, member.mode & 0o7777)  # after chown, which clears setuid bits
        self.xattrs(path, member)
        os.utime(path, (member.mtime, member.mtime), follow_symlinks=False)

    def write_file(self, tar: tarfile.TarFile, member: tarfile.TarInfo, path: str) -> None:
        src = tar.extractfile(member)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as out:
            if src is not None:
                while chunk := src.read(CHUNK):
                    out.write(chunk)
        self.size += member.size

    def hardlink(self, target_rel: str, path: str, member: tarfile.TarInfo) -> None:
        parent, name = tarsafe.resolve_parent(self.root, target_rel)
        target = self.host_path(f"{parent}/{name}" if parent else name)
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            raise tarsafe.UnsafeArchive(
                f"refusing layer: hard link {member.name!r} -> {member.linkname!r} has no target in the layer"
            ) from None
        if stat.S_ISDIR(st.st_mode):
            raise tarsafe.UnsafeArchive(f"refusing layer: hard link {member.name!r} to a directory")
        os.link(target, path, follow_symlinks=False)

    def finish(self) -> None:
        for rel in sorted(self.dir_attrs, key=lambda r: r.count("/"), reverse=True):
            member = self.dir_attrs[rel]
            path = self.host_path(rel)
            # chmod follows symlinks: only touch a path that is still a real directory all the way down
            expected = os.path.join(self.real_root, rel) if rel else self.real_root
            if os.path.realpath(path) != expected or not stat.S_ISDIR(os.lstat(path).st_mode):
                continue
            os.chmod(path, member.mode & 0o7777)
            os.utime(path, (member.mtime, member.mtime), follow_symlinks=False)


def unpack(stream: BinaryIO, dest: str) -> int:
    """Unpack an uncompressed tar stream into the existing empty directory `dest`; returns the content size.

    Raises InvalidParameter (UnsafeArchive) for hostile or corrupt archives; the caller removes `dest`.
    """
    unpacker = _Unpacker(dest)
    try:
        # A big record buffer: the default 10 KiB makes tarfile loop in Python ~100 times per MiB.
        with tarfile.open(fileobj=stream, mode="r|", errorlevel=2, bufsize=CHUNK) as tar:  # type: ignore[call-overload]
            for member in tar:
                unpacker.apply(tar, member)
    except tarfile.TarError as exc:
        raise InvalidParameter(f"invalid tar archive: {exc}") from None
    unpacker.finish()
    return unpacker.size


def rmtree(path: str | os.PathLike[str]) -> None:
    """Remove a tree without following symlinks; as non-root, read-only directories are opened up first."""
    if not os.path.lexists(path):
        return
    if os.geteuid() != 0 and os.path.isdir(path) and not os.path.islink(path):
        os.chmod(path, 0o700)
        for dirpath, dirnames, _ in os.walk(path):
            for d in dirnames:
                p = os.path.join(dirpath, d)
                if not os.path.islink(p):
                    os.chmod(p, 0o700)
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)
