"""Decisions about tar members before anything touches the disk: path safety and whiteout translation.

Pure functions (no I/O besides lstat/readlink inside the layer being built), so they are unit-tested
without root against crafted hostile archives.
"""

from __future__ import annotations

import os
import posixpath
import stat
import tarfile
from dataclasses import dataclass

from engine.errors import InvalidParameter

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
OPAQUE_MARKER = ".wh..wh..opq"
MAX_SYMLINKS = 40

# xattr namespaces a layer may carry; trusted.* would let an archive forge overlay metadata.
_ALLOWED_XATTR_PREFIXES = ("user.", "security.", "system.posix_acl_")


class UnsafeArchive(InvalidParameter):
    """A layer archive that tries to write outside its directory (or is otherwise malformed)."""


@dataclass(frozen=True)
class Action:
    """What one tar member means for an overlay layer directory.

    kind: "dir" | "file" | "symlink" | "hardlink" | "chardev" | "blockdev" | "fifo"
          | "whiteout" (path is the hidden name) | "opaque" (path is the directory) | "skip"
    """

    kind: str
    path: str
    target: str = ""


def clean_path(name: str) -> str:
    """A member name as a clean relative path; refuses absolute names and `..` escapes."""
    if "\x00" in name:
        raise UnsafeArchive(f"refusing layer: NUL byte in path {name!r}")
    if name.startswith("/"):
        raise UnsafeArchive(f"refusing layer: absolute path {name!r}")
    cleaned = posixpath.normpath(name)
    if cleaned == ".." or cleaned.startswith("../"):
        raise UnsafeArchive(f"refusing layer: path {name!r} escapes the layer")
    return "" if cleaned == "." else cleaned


def translate(member: tarfile.TarInfo) -> Action:
    """Map a member to an Action, turning OCI whiteouts into their overlayfs forms."""
    path = clean_path(member.name)
    parent, base = posixpath.split(path)
    if base == OPAQUE_MARKER:
        return Action("opaque", parent)
    if base.startswith(WHITEOUT_META_PREFIX):
        return Action("skip", path)  # other AUFS metadata (.wh..wh.plnk, .wh..wh.aufs) has no overlay meaning
    if base.startswith(WHITEOUT_PREFIX):
        hidden = base[len(WHITEOUT_PREFIX):]
        if not hidden or hidden in (".", ".."):
            raise UnsafeArchive(f"refusing layer: invalid whiteout {member.name!r}")
        return Action("whiteout", posixpath.join(parent, hidden))
    if not path and not member.isdir():
        raise UnsafeArchive(f"refusing layer: entry {member.name!r} would replace the layer root")
    if member.isdir():
        return Action("dir", path)
    if member.islnk():
        return Action("hardlink", path, clean_path(member.linkname))
    if member.issym():
        if not member.linkname:
            raise UnsafeArchive(f"refusing layer: empty symlink target for {member.name!r}")
        return Action("symlink", path, member.linkname)
    if member.ischr():
        return Action("chardev", path)
    if member.isblk():
        return Action("blockdev", path)
    if member.isfifo():
        return Action("fifo", path)
    if member.isreg():
        return Action("file", path)
    raise UnsafeArchive(f"refusing layer: unsupported entry type {member.type!r} for {member.name!r}")


def resolve_parent(root: str, rel: str) -> tuple[str, str]:
    """Resolve the directories above `rel` inside `root`, following symlinks only while they stay inside.

    Returns (parent relative path, final name). The final component itself is never followed.
    Raises UnsafeArchive when a symlink would lead out of the layer (absolute target, `..` past the root).
    """
    parent, name = posixpath.split(rel)
    return resolve_dir(root, parent), name


def resolve_dir(root: str, rel: str) -> str:
    """Resolve a directory path inside `root` (all components, symlinks kept in scope); see resolve_parent."""
    pending = [c for c in rel.split("/") if c not in ("", ".")]
    resolved: list[str] = []
    links = 0
    while pending:
        comp = pending.pop(0)
        if comp == "..":
            if not resolved:
                raise UnsafeArchive(f"refusing layer: path {rel!r} escapes the layer")
            resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, comp)
        try:
            st = os.lstat(candidate)
        except FileNotFoundError:
            resolved.append(comp)
            continue
        if stat.S_ISLNK(st.st_mode):
            links += 1
            target = os.readlink(candidate)
            if links > MAX_SYMLINKS or target.startswith("/"):
                raise UnsafeArchive(f"refusing layer: {rel!r} goes through symlink {comp!r} -> {target!r}")
            pending = [c for c in target.split("/") if c not in ("", ".")] + pending
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise UnsafeArchive(f"refusing layer: {rel!r} needs {comp!r} to be a directory")
        resolved.append(comp)
    return "/".join(resolved)


def allowed_xattrs(member: tarfile.TarInfo) -> dict[str, bytes]:
    """The extended attributes a member carries (PAX SCHILY.xattr.*), minus namespaces a layer may not set."""
    out: dict[str, bytes] = {}
    for key, value in member.pax_headers.items():
        if not key.startswith("SCHILY.xattr."):
            continue
        attr = key[len("SCHILY.xattr."):]
        if attr.startswith(_ALLOWED_XATTR_PREFIXES):
            out[attr] = value.encode("utf-8", "surrogateescape")
    return out
