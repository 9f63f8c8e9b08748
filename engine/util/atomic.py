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
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{threading.get_native_id()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if sync is not Sync.NONE:
            os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.rename(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sync is Sync.FULL:
        dir_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def atomic_write_json(
    path: str | os.PathLike[str], obj: Any, mode: int = 0o644, *, sync: Sync = Sync.FULL
) -> None:
    atomic_write_bytes(path, json.dumps(obj, separators=(",", ":"), sort_keys=True).encode(), mode, sync=sync)


def read_json(path: str | os.PathLike[str]) -> Any:
    with open(path, "rb") as f:
        return json.load(f)
