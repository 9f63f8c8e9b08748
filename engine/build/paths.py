"""Paths inside a root directory (an image's rootfs, a build context): symlinks are followed with the root
as `/`, so neither an image's absolute symlink nor a context's link ever reaches the host's files."""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import InvalidParameter

MAX_SYMLINKS = 40


def scoped(root: Path, path: str, *, follow_last: bool = True) -> Path:
    """`path` (absolute in the container) resolved inside `root`, symlinks followed with `root` as `/`."""
    pending = [c for c in path.split("/") if c not in ("", ".")]
    resolved: list[str] = []
    links = 0
    while pending:
        comp = pending.pop(0)
        if comp == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = root.joinpath(*resolved, comp)
        if (pending or follow_last) and candidate.is_symlink():
            links += 1
            if links > MAX_SYMLINKS:
                raise InvalidParameter(f"too many levels of symbolic links: {path}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            pending = [c for c in target.split("/") if c not in ("", ".")] + pending
            continue
        resolved.append(comp)
    return root.joinpath(*resolved)
