"""Atomic state writes.

A reader, or a daemon restarted after kill -9, sees the old or the new file, never a torn one. How much of
that survives a power cut is the caller's choice (`Sync`): an fsync costs ~1.5-6 ms on a busy disk, and a
container's start and stop write several files.
"""

from __future__ import annotations

import enum
import json
import os
import threading
from pathlib import Path

from engine._typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


class Sync(enum.Enum):
    # the file and its directory fsynced: the new content is on disk when the call returns
    FULL = "full"
    # the file fsynced before the rename, not the directory (dockerd's ioutils.AtomicWriteFile, which every
    # container checkpoint uses): after a power cut the old or the new content, never an empty or torn file;
    # the last rename may be lost with the cut
    DATA = "data"
    # rename only: atomic against the daemon's death, nothing promised across a power cut. For what a reboot
    # loses anyway (the exec root is tmpfs) or what is written again before it is used (a container's
    # hosts, resolv.conf and hostname, rewritten on every start)
    NONE = "none"


def atomic_write_bytes(
    path: str | os.PathLike[str], data: bytes, mode: int = 0o644, *, sync: Sync = Sync.FULL
) -> None:
    """Write `data` to a temp file beside `path`, then rename it over `path`; fsyncs as `sync` says."""
    atomic_write_all([(Path(path), data)], mode, sync=sync)


def atomic_write_all(files: list[tuple[Path, bytes]], mode: int = 0o644, *, sync: Sync = Sync.FULL) -> None:
    """atomic_write_bytes of several files, renamed in the order given (the last one a commit point, as a
    container's config.v2.json after its hostconfig.json). Every temp file is written before the first
    fsync: one journal commit carries them all, where one write after the other waited for one each."""
    temps: list[tuple[Path, Path, int]] = []
    try:
        for target, data in files:
            tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{threading.get_native_id()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
            temps.append((target, tmp, fd))
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        if sync is not Sync.NONE:
            for _, _, fd in temps:
                os.fsync(fd)
    except BaseException:
        for _, tmp, _ in temps:
            tmp.unlink(missing_ok=True)
        raise
    finally:
        for _, _, fd in temps:
            os.close(fd)
    for i, (target, tmp, _) in enumerate(temps):
        try:
            os.rename(tmp, target)
        except BaseException:
            for _, left, _ in temps[i:]:
                left.unlink(missing_ok=True)
            raise
    if sync is Sync.FULL:
        for parent in dict.fromkeys(target.parent for target, _, _ in temps):
            dir_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


def atomic_write_json(
    path: str | os.PathLike[str], obj: Any, mode: int = 0o644, *, sync: Sync = Sync.FULL
) -> None:
    atomic_write_bytes(path, json.dumps(obj, separators=(",", ":"), sort_keys=True).encode(), mode, sync=sync)


def replace_if_changed(path: Path, data: bytes) -> None:
    """atomic_write_bytes without an fsync, skipped when `path` holds `data` already (a container's hosts,
    resolv.conf and hostname, written at its create and again at every start, mostly the same): each
    rewrite costs a new inode and the old one's deletion, and an ext4 without a journal (this machine's
    disk) scans past recently deleted inodes at every file it creates."""
    try:
        with open(path, "rb") as f:
            if f.read(len(data) + 1) == data:
                return
    except OSError:
        pass
    atomic_write_bytes(path, data, sync=Sync.NONE)


def read_json(path: str | os.PathLike[str]) -> Any:
    with open(path, "rb") as f:
        return json.load(f)
