"""Container paths resolved inside a root directory, the way a chroot would see them.

Symlinks are followed with the root as `/`: an absolute link target starts again at the root and `..` stops
at it, so an image's (or a build context's) links never lead to the host's files. One walk for the runtime's
mounts, volume copy-up and the builder; each says how to read a link (the runtime: its syscall layer).
"""

from __future__ import annotations

import os
from collections.abc import Callable

MAX_SYMLINKS = 40


def host_readlink(path: str) -> str | None:
    """The target of the link at `path`, or None when it is not a link (or does not exist)."""
    try:
        return os.readlink(path)
    except OSError:
        return None


def _components(path: str) -> list[str]:
    return [c for c in path.split("/") if c not in ("", ".")]


def resolve_in_root(
    root: str,
    path: str,
    *,
    readlink: Callable[[str], str | None] = host_readlink,
    follow_last: bool = True,
) -> str:
    """The host path of container path `path` under `root`; `follow_last=False` keeps a final link itself.

    Raises OSError(ELOOP) after too many links, as the kernel would.
    """
    pending = _components(path)
    resolved: list[str] = []
    links = 0
    while pending:
        comp = pending.pop(0)
        if comp == "..":
            if resolved:
                resolved.pop()
            continue
        target = readlink(os.path.join(root, *resolved, comp)) if (pending or follow_last) else None
        if target is None:
            resolved.append(comp)
            continue
        links += 1
        if links > MAX_SYMLINKS:
            raise OSError(40, f"too many levels of symbolic links: {path}")
        if target.startswith("/"):
            resolved = []
        pending = _components(target) + pending
    return os.path.join(root, *resolved)
