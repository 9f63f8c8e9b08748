"""The build context: the client's tar unpacked into a private directory with `.dockerignore` applied,
source selection for COPY/ADD (globs, directories) and the content checksum the step cache keys on."""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import os
import shutil
import stat
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from engine.build import ignore
from engine.build.paths import scoped
from engine.errors import InvalidParameter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """A file of the build context: its path on disk and inside the context."""

    path: Path  # on the host
    rel: str  # as named in the context (for messages)


class Context:
    """A directory of files: the unpacked client context, or a built stage's/image's root filesystem."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, rel: str) -> Path:
        """`rel` inside the root, symlinks (the last one too, as COPY follows a source link) resolved with
        the root as `/`: a link in the context never leads to the host's files."""
        return scoped(self.root, rel)

    def select(self, pattern: str) -> list[Source]:
        """Context paths matching `pattern` (Go filepath.Match per component); `..` cannot leave the root."""
        clean = os.path.normpath("/" + pattern).lstrip("/")
        if clean in ("", "."):
            return [Source(self.root, ".")]
        if not any(ch in clean for ch in "*?["):
            path = self._path(clean)
            if not os.path.lexists(path):
                raise InvalidParameter(
                    f"COPY failed: file not found in build context or excluded by "
                    f".dockerignore: stat {clean}: file does not exist"
                )
            return [Source(path, clean)]
        found: list[str] = [""]
        for part in clean.split("/"):
            nxt: list[str] = []
            for base in found:
                where = self._path(base) if base else self.root
                try:
                    names = sorted(os.listdir(where)) if where.is_dir() else []
                except OSError:
                    names = []
                nxt.extend(os.path.join(base, n) for n in names if fnmatch.fnmatchcase(n, part))
            found = nxt
        if not found:
            raise InvalidParameter(
                f"COPY failed: no source files were specified (pattern {pattern!r} matched nothing)"
            )
        return [Source(self._path(rel), rel) for rel in found]


def checksum(sources: list[Source]) -> str:
    """Content hash over names, modes, link targets and bytes (mtimes are ignored, as docker's cache does)."""
    h = hashlib.sha256()
    for src in sources:
        _hash_tree(h, src.path, src.rel)
    return "sha256:" + h.hexdigest()


def _hash_tree(h: hashlib._Hash, path: Path, rel: str) -> None:  # type: ignore[name-defined]
    st = os.lstat(path)
    h.update(f"{rel}\0{st.st_mode:o}\0{st.st_uid}:{st.st_gid}\0".encode())
    if stat.S_ISLNK(st.st_mode):
        h.update(os.readlink(path).encode() + b"\0")
    elif stat.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        h.update(b"\0")
    elif stat.S_ISDIR(st.st_mode):
        for name in sorted(os.listdir(path)):
            _hash_tree(h, path / name, f"{rel}/{name}")


def _complete_tar(body: BinaryIO) -> None:
    """The docker CLI's rewritten context (`-f` outside the context) ends without the last block's padding
    and the end-of-archive blocks, which Go's reader tolerates and Python's does not: add them back."""
    head = body.read(512)
    body.seek(0, os.SEEK_END)
    size = body.tell()
    if head[257:262] == b"ustar" and body.writable():
        body.write(b"\0" * ((-size) % 512 + 1024))
    body.seek(0)


def unpack(body: BinaryIO, workdir: Path, dockerfile: str) -> Path:
    """Unpack the context tar (plain or compressed) into a new directory under `workdir`, leaving out what
    `.dockerignore` excludes (the Dockerfile and .dockerignore themselves are always kept)."""
    workdir.mkdir(parents=True, exist_ok=True)
    dest = Path(tempfile.mkdtemp(prefix="ctx-", dir=workdir))
    _complete_tar(body)
    try:
        with tarfile.open(fileobj=body, mode="r:*") as tar:
            members = tar.getmembers()
            ignore_text = ""
            for m in members:
                if os.path.normpath(m.name).lstrip("/") == ".dockerignore" and m.isfile():
                    f = tar.extractfile(m)
                    ignore_text = f.read().decode(errors="replace") if f else ""
            matcher = ignore.Matcher(ignore.parse(ignore_text))
            keep_always = {".dockerignore", os.path.normpath(dockerfile).lstrip("/")}
            chosen = []
            for m in members:
                rel = os.path.normpath(m.name).lstrip("/")
                if rel in ("", "."):
                    continue
                if rel not in keep_always and matcher.ignored(rel):
                    continue
                chosen.append(m)
            tar.extractall(dest, members=chosen, filter="tar")
    except tarfile.ReadError:
        # not an archive: `docker build - < Dockerfile` sends the Dockerfile alone, as dockerd accepts
        body.seek(0)
        (dest / os.path.basename(dockerfile or "Dockerfile")).write_bytes(body.read())
    except tarfile.TarError as e:
        shutil.rmtree(dest, ignore_errors=True)
        raise InvalidParameter(f"invalid build context: {e}") from None
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return dest


def drop_ignored_build_files(dest: Path, dockerfile: str) -> None:
    """After the Dockerfile was read: it and .dockerignore go from the context when .dockerignore lists
    them (the client sends them anyway), so COPY never sees them, as with dockerd."""
    try:
        text = (dest / ".dockerignore").read_text(errors="replace")
    except OSError:
        return
    matcher = ignore.Matcher(ignore.parse(text))
    for rel in (".dockerignore", os.path.normpath(dockerfile).lstrip("/")):
        target = dest / rel
        if matcher.ignored(rel) and target.is_file() and not target.is_symlink():
            target.unlink()
