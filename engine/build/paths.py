"""Paths inside a root directory (an image's rootfs, a build context): symlinks are followed with the root
as `/`, so neither an image's absolute symlink nor a context's link ever reaches the host's files."""

from __future__ import annotations

from pathlib import Path

from engine.errors import InvalidParameter
from engine.util.securejoin import resolve_in_root


def scoped(root: Path, path: str, *, follow_last: bool = True) -> Path:
    """`path` (absolute in the container) resolved inside `root`, symlinks followed with `root` as `/`."""
    try:
        return Path(resolve_in_root(str(root), path, follow_last=follow_last))
    except OSError as e:
        raise InvalidParameter(e.strerror or str(e)) from None
