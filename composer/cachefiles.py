"""Entries of composer's caches between runs: one checksummed file each, written atomically.

An entry is `magic + crc32(body) + body`; one that is missing, foreign, cut short or damaged reads as
absent (the caller computes the value again and rewrites it). Writes go to a temporary file renamed over
the old one, so a concurrent reader sees the old entry or the new one; a cache that cannot be written
only costs the work next time. Each cache keeps at most `limit` entries in its directory, the oldest
removed first.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import zlib

from composer._typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


def entry_path(directory: str, key: Any) -> str:
    """The entry's file for a marshal-able key (the entry must hold the key: a crc collision is a miss).
    Format 2: from 3 on, marshal writes back-references whose bytes depend on which equal objects are
    the same object, so equal keys built differently could name different files."""
    return os.path.join(directory, f"{zlib.crc32(marshal.dumps(key, 2)):08x}.bin")


def read(path: str, magic: bytes) -> bytes | None:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    head = len(magic) + 4
    if not raw.startswith(magic) or len(raw) < head:
        return None
    body = raw[head:]
    if int.from_bytes(raw[len(magic) : head], "big") != zlib.crc32(body):
        return None
    return body


def write(path: str, magic: bytes, body: bytes, *, cache_home: str, limit: int) -> None:
    """Store the entry. `cache_home` ($XDG_CACHE_HOME or ~/.cache) and the directories below it are made
    as needed, the directory holding it never (a HOME that does not exist stays so)."""
    if not os.path.isdir(os.path.dirname(cache_home)):
        return
    directory = os.path.dirname(path)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it may hold values of secrets
        with os.fdopen(fd, "wb") as f:
            f.write(magic + zlib.crc32(body).to_bytes(4, "big") + body)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return
    _prune(directory, limit)


def _prune(directory: str, limit: int) -> None:
    with contextlib.suppress(OSError):
        entries = [e for e in os.scandir(directory) if e.name.endswith(".bin")]
        if len(entries) <= limit:
            return
        entries.sort(key=lambda e: e.stat().st_mtime_ns)
        for old in entries[: len(entries) - limit]:
            with contextlib.suppress(OSError):
                os.unlink(old.path)
