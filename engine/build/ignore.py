"""`.dockerignore`: Go filepath.Match patterns plus `**`, `!` exceptions; the last matching line wins, and a
pattern that matches a directory also excludes everything under it."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Pattern:
    """A .dockerignore line as a regex (an exclusion when it starts with `!`)."""

    regex: re.Pattern[str]
    exclusion: bool
    text: str


def _to_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if pattern.startswith("**", i):
                i += 2
                if pattern.startswith("/", i):  # "**/" : zero or more directories
                    i += 1
                    out.append("(?:.*/)?")
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("^"):
                    body = "!" + body[1:]
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                i = end
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("^" + "".join(out) + "$")


def parse(text: str) -> list[Pattern]:
    patterns: list[Pattern] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
        line = posixpath.normpath(line).lstrip("/") if line else line
        if not line or line == ".":
            continue
        patterns.append(Pattern(_to_regex(line), exclusion, line))
    return patterns


class Matcher:
    def __init__(self, patterns: list[Pattern]) -> None:
        self.patterns = patterns
        self.has_exclusions = any(p.exclusion for p in patterns)

    def ignored(self, rel: str) -> bool:
        """Is the context path `rel` (slash-separated, no leading slash) left out of the context?"""
        parents = _prefixes(rel)
        result = False
        for p in self.patterns:
            if any(p.regex.match(candidate) for candidate in parents):
                result = not p.exclusion
        return result

    def may_contain_kept(self, rel_dir: str) -> bool:
        """Whether an ignored directory could still hold an excepted (`!`) path, so it must be walked."""
        return self.has_exclusions


def _prefixes(rel: str) -> list[str]:
    parts = rel.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]
