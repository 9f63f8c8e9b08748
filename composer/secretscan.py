"""Values that look like credentials, found before a project is published (as Compose's publish asks
about "sensitive data"): a small set of well-known token shapes, reported with their key path.

Scanned: the string values of mappings in the Compose files as written (uninterpolated), and
KEY=VALUE lines of env files. A finding is a question to the user, not an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

DETECTORS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("AWS Client ID", re.compile(r"\b(?:A3T[A-Z0-9]|AKIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASIA)[A-Z0-9]{16}\b")),
    ("Github authentication", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b")),
    ("JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+")),
    ("Private Key", re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")),
    ("Slack token", re.compile(r"\bxox[abprs]-[0-9A-Za-z-]{10,250}")),
)


@dataclass(frozen=True)
class Finding:
    kind: str
    key: str
    value: str


def scan_document(data: Any) -> list[Finding]:
    """Findings in a loaded YAML document, keys in sorted order (as the file is marshalled)."""
    return [f for key, value in _scalars(data, "") for f in _check(key, value)]


def scan_env_file(text: str) -> list[Finding]:
    found = []
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            found.extend(_check(key.strip(), value.strip().strip("'\"")))
    return found


def _scalars(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key in sorted(node, key=str):
            child = f"{path}.{key}" if path else str(key)
            value = node[key]
            if isinstance(value, str):
                yield child, value
            else:
                yield from _scalars(value, child)


def _check(key: str, value: str) -> list[Finding]:
    return [Finding(kind, key, value) for kind, pattern in DETECTORS if pattern.search(value)][:1]
