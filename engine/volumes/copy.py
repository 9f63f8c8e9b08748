"""Copy an image directory into a new volume as Docker does on first use: everything, ownership included."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from pathlib import Path

from engine.util import securejoin


def _copy_xattrs(src: str, dst: str) -> None:
    try:
        names = os.listxattr(src, follow_symlinks=False)
    except OSError:
        return
    for name in names:
        if name.startswith("trusted.overlay."):
            continue  # overlay's own bookkeeping means nothing outside the overlay
        with contextlib.suppress(OSError):
            os.setxattr(dst, name, os.getxattr(src, name, follow_symlinks=False), follow_symlinks=False)


def _copy_attrs(src: str, dst: str, st: os.stat_result) -> None:
    os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=False)
    if not stat.S_ISLNK(st.st_mode):
        os.chmod(dst, stat.S_IMODE(st.st_mode))  # after chown, which clears setuid bits
    _copy_xattrs(src, dst)
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def resolve_in_root(root: Path, path: str) -> Path:
    """The host path of container path `path` under `root`, symlinks followed as if `root` were `/`."""
    return Path(securejoin.resolve_in_root(str(root), path))


def copy_tree(source: Path, dest: Path) -> None:
    """Copy the contents of `source` into the existing directory `dest` (symlinks, hard links, devices,
    owners, modes, times, xattrs); `dest` itself takes the ownership and mode of `source`."""
    links: dict[tuple[int, int], str] = {}
    dirs: list[tuple[str, str, os.stat_result]] = []
    for dirpath, dirnames, filenames in os.walk(source):
        rel = os.path.relpath(dirpath, source)
        target_dir = str(dest) if rel == "." else os.path.join(dest, rel)
        for name in dirnames + filenames:
            src = os.path.join(dirpath, name)
            dst = os.path.join(target_dir, name)
            st = os.lstat(src)
            mode = st.st_mode
            if stat.S_ISDIR(mode):
                os.mkdir(dst, 0o700)
                dirs.append((src, dst, st))  # times and modes after the children are in
                continue
            if st.st_nlink > 1 and not stat.S_ISLNK(mode):
                key = (st.st_dev, st.st_ino)
                if key in links:
                    os.link(links[key], dst)
                    continue
                links[key] = dst
            if stat.S_ISLNK(mode):
                os.symlink(os.readlink(src), dst)
            elif stat.S_ISREG(mode):
                shutil.copyfile(src, dst, follow_symlinks=False)
            elif stat.S_ISFIFO(mode):
                os.mkfifo(dst, 0o600)
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                os.mknod(dst, (mode & (stat.S_IFCHR | stat.S_IFBLK)) | 0o600, st.st_rdev)
            else:
                continue  # sockets are not copied (Docker skips them too)
            _copy_attrs(src, dst, st)
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
    for src, dst, st in reversed(dirs):
        _copy_attrs(src, dst, st)
    _copy_attrs(str(source), str(dest), os.lstat(source))
