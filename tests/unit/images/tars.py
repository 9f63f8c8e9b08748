"""Build small tar archives in memory for layer tests (including deliberately hostile ones)."""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass


@dataclass(frozen=True)
class E:
    """One member: kind is file|dir|symlink|hardlink|chardev|fifo."""

    name: str
    kind: str = "file"
    data: bytes = b""
    target: str = ""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    mtime: int = 1_600_000_000
    xattrs: tuple[tuple[str, str], ...] = ()
    dev: tuple[int, int] = (0, 0)


_TYPES = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
          "hardlink": tarfile.LNKTYPE, "chardev": tarfile.CHRTYPE, "fifo": tarfile.FIFOTYPE}


def make_tar(*entries: E) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            info = tarfile.TarInfo(e.name)
            info.type = _TYPES[e.kind]
            info.mode, info.uid, info.gid, info.mtime = e.mode, e.uid, e.gid, e.mtime
            info.linkname = e.target
            info.devmajor, info.devminor = e.dev
            info.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in e.xattrs}
            if e.kind == "file":
                info.size = len(e.data)
                tar.addfile(info, io.BytesIO(e.data))
            else:
                tar.addfile(info)
    return buf.getvalue()


def member(name: str, kind: str = "file", target: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = _TYPES[kind]
    info.linkname = target
    return info
