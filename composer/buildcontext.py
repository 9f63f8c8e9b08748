"""A built service's context as file digests, recorded on its containers so `up` can say which file
made a rebuild necessary (`rebuild: hello.sh changed`).

The record is a label (`BUILD_CONTEXT_LABEL`, JSON {path: digest}) on the containers: the engine's objects
stay the only record. `.dockerignore` patterns are honoured approximately (fnmatch on the relative path
and its parents), enough to leave ignored files out of the comparison.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

BUILD_CONTEXT_LABEL = "io.composer.build-context"
MAX_FILES = 2000  # a bigger context is not recorded (the label would be too large); builds still run


def _ignored(rel: str, patterns: list[str]) -> bool:
    ignored = False
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern[1:] if negate else pattern
        if any(fnmatch.fnmatchcase(p, pat) for p in prefixes):
            ignored = not negate
    return ignored


def context_digests(context: str | Path) -> dict[str, str] | None:
    """{relative path: sha256[:16]} of the context's files; None when it is not a local dir or too big."""
    root = Path(context)
    if not root.is_dir():
        return None
    patterns: list[str] = []
    ignore = root / ".dockerignore"
    if ignore.is_file():
        for line in ignore.read_text(errors="replace").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                patterns.append(line.strip("/").removeprefix("./"))
    found: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(filenames):
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            if _ignored(rel, patterns) or not full.is_file():
                continue
            if len(found) >= MAX_FILES:
                return None
            digest = hashlib.sha256(full.read_bytes()).hexdigest()[:16]
            found[rel] = f"{digest}:{full.stat().st_mode & 0o777:o}"
        dirnames.sort()
    return found


def encode(digests: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(digests.items())), separators=(",", ":"))


def changed_files(recorded: str | None, current: Mapping[str, str] | None) -> list[str]:
    """Files added, removed or changed since the recorded context; [] when either side is unknown."""
    if not recorded or current is None:
        return []
    try:
        old = json.loads(recorded)
    except ValueError:
        return []
    if not isinstance(old, dict):
        return []
    return sorted(p for p in set(old) | set(current) if old.get(p) != current.get(p))
