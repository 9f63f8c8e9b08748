"""Which changed paths a watch rule does not act on: built-in editor/VCS noise, the rule's `ignore`,
the build context's `.dockerignore` (and `<Dockerfile>.dockerignore`), and the project/Dockerfile itself.

Patterns use .dockerignore syntax (`*`, `**`, `?`, leading `!` re-includes), matched on the path relative
to the rule's `path` (or to the context for .dockerignore); a pattern matching a directory covers its
contents.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# What editors and VCS write next to real files (Compose ignores the same kinds).
BUILTIN_DIRS = (".git", ".hg", ".svn", ".bzr")
BUILTIN_NAMES = (
    "*~",
    "*.swp",
    "*.swx",
    "*.swo",
    ".*.swp",
    "4913",  # vim's write-permission probe
    "#*#",
    ".#*",
    "*.kate-swp",
    "___jb_tmp___",
    "___jb_old___",
    "*___jb_tmp___",
    "*___jb_old___",
)


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex on a relative posix path (`**` spans directories)."""
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        out.append("[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch))
        i += 1
    return re.compile("".join(out) + "(?:/.*)?\\Z")


def _clean(pattern: str) -> str:
    return pattern.strip().lstrip("/").rstrip("/") if pattern.strip() not in ("", "/") else ""


@dataclass(frozen=True)
class Patterns:
    """An ordered .dockerignore-style list: the last matching pattern decides."""

    items: tuple[tuple[bool, str], ...] = ()  # (negated, pattern)

    @classmethod
    def parse(cls, lines: Iterable[str]) -> Patterns:
        items = []
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            pattern = _clean(line[1:] if negated else line)
            if pattern:
                items.append((negated, pattern))
        return cls(tuple(items))

    @classmethod
    def read(cls, path: Path) -> Patterns:
        try:
            return cls.parse(path.read_text(encoding="utf-8", errors="replace").splitlines())
        except OSError:
            return cls()

    def matches(self, rel: str) -> bool:
        ignored = False
        for negated, pattern in self.items:
            if _regex(pattern).match(rel):
                ignored = not negated
        return ignored


def builtin_ignored(rel: str) -> bool:
    parts = rel.split("/")
    if any("/".join(parts[i : i + d.count("/") + 1]) == d for d in BUILTIN_DIRS for i in range(len(parts))):
        return True
    name = parts[-1]
    return any(fnmatch.fnmatchcase(name, p) for p in BUILTIN_NAMES)


def relative(path: Path, base: Path) -> str | None:
    """`path` relative to `base` in posix form ("" for base itself), None when outside it."""
    try:
        rel = path.relative_to(base)
    except ValueError:
        return None
    text = rel.as_posix()
    return "" if text == "." else text


def included(rel: str, include: Sequence[str]) -> bool:
    """`include` keeps only matching paths (an empty list keeps everything)."""
    if not include or rel == "":
        return True
    return Patterns.parse(include).matches(rel)
