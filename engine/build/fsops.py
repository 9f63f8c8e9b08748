"""Filesystem work of COPY/ADD/WORKDIR inside a step's mounted root: paths resolve inside the root (an image's
absolute symlink never reaches the host), copies keep modes, and --chown/--chmod apply to what was copied."""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tarfile
from pathlib import Path

from engine.build.context import Source
from engine.build.paths import scoped
from engine.errors import InvalidParameter


def makedirs(root: Path, path: str, uid: int = 0, gid: int = 0) -> Path:
    """mkdir -p inside the root; new directories get 0755 and the given owner."""
    target = root
    walked = ""
    for comp in [c for c in path.split("/") if c]:
        walked = walked + "/" + comp
        target = scoped(root, walked)
        if not target.exists():
            target.mkdir(mode=0o755)
            os.chmod(target, 0o755)
            os.lchown(target, uid, gid)
        elif not target.is_dir():
            raise InvalidParameter(f"cannot create directory {walked}: a file is in the way")
    return target


def _apply(path: Path, owner: tuple[int, int] | None, mode: int | None) -> None:
    if owner is not None:
        os.lchown(path, *owner)
    if mode is not None and not path.is_symlink():
        os.chmod(path, mode)


def _copy_entry(root: Path, src: Path, cpath: str, owner: tuple[int, int] | None, mode: int | None) -> None:
    """Copy `src` to the container path `cpath`; every destination is resolved inside `root` afresh, so a
    symlink in the image (even an absolute one) is followed as the container would see it."""
    st = os.lstat(src)
    dst = scoped(root, cpath, follow_last=stat.S_ISDIR(st.st_mode))
    if stat.S_ISDIR(st.st_mode):
        if not dst.is_dir():
            if dst.exists() or dst.is_symlink():
                dst.unlink()
            dst.mkdir()
            shutil.copystat(src, dst, follow_symlinks=False)
            os.lchown(dst, st.st_uid, st.st_gid)
        _apply(dst, owner, mode)
        for name in sorted(os.listdir(src)):
            _copy_entry(root, src / name, f"{cpath}/{name}", owner, mode)
        return
    if dst.is_dir() and not dst.is_symlink():
        shutil.rmtree(dst)
    elif dst.exists() or dst.is_symlink():
        dst.unlink()
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(src), dst)
    elif stat.S_ISREG(st.st_mode):
        shutil.copy2(src, dst, follow_symlinks=False)
    else:
        raise InvalidParameter(f"cannot copy {src.name}: not a regular file, directory or symlink")
    os.lchown(dst, st.st_uid, st.st_gid)
    _apply(dst, owner, mode)


def copy_sources(
    root: Path,
    sources: list[Source],
    dest: str,
    *,
    owner: tuple[int, int] | None,
    mode: int | None,
    from_context: bool,
    extract_archives: bool = False,
) -> None:
    """COPY/ADD semantics: a directory source copies its contents; several sources or a dest ending in `/`
    need a directory dest; a local tar is unpacked by ADD. Context files become root-owned unless --chown."""
    dest_is_dir = dest.endswith("/") or len(sources) > 1
    dest_path = scoped(root, dest)
    if len(sources) > 1 and dest_path.exists() and not dest_path.is_dir():
        raise InvalidParameter(
            "When using COPY with more than one source file, the destination must be a "
            "directory and end with a /"
        )
    eff_owner = owner if owner is not None else ((0, 0) if from_context else None)
    for src in sources:
        if src.path.is_dir() and not src.path.is_symlink():
            makedirs(root, dest, *(owner or (0, 0)))
            for name in sorted(os.listdir(src.path)):
                _copy_entry(root, src.path / name, f"{dest.rstrip('/')}/{name}", eff_owner, mode)
            continue
        if extract_archives and _is_archive(src.path):
            target = makedirs(root, dest, *(owner or (0, 0)))
            _extract(src.path, target, owner)
            continue
        if dest_is_dir or dest_path.is_dir():
            makedirs(root, dest, *(owner or (0, 0)))
            cpath = f"{dest.rstrip('/')}/{posixpath.basename(src.rel.rstrip('/'))}"
        else:
            makedirs(root, posixpath.dirname(posixpath.normpath(dest)), *(owner or (0, 0)))
            cpath = dest
        _copy_entry(root, src.path, cpath, eff_owner, mode)


def write_file(
    root: Path, dest: str, content: bytes, *, owner: tuple[int, int] | None, mode: int | None
) -> None:
    """A heredoc source (`COPY <<EOF /path`)."""
    makedirs(root, posixpath.dirname(posixpath.normpath(dest)))
    target = scoped(root, dest, follow_last=False)
    if dest.endswith("/") or target.is_dir():
        raise InvalidParameter(f"heredoc destination {dest} is a directory")
    target.write_bytes(content)
    os.chmod(target, mode if mode is not None else 0o644)
    os.lchown(target, *(owner or (0, 0)))


def _is_archive(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


def _extract(path: Path, target: Path, owner: tuple[int, int] | None) -> None:
    with tarfile.open(path, mode="r:*") as tar:
        members = tar.getmembers()
        tar.extractall(target, members=members, filter="tar", numeric_owner=True)
    if owner is not None:
        for m in members:
            p = target / os.path.normpath(m.name).lstrip("/")
            if p.exists() or p.is_symlink():
                os.lchown(p, *owner)
