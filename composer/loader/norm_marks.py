"""Locations for canonical key paths that the user spelt differently.

After normalization a list entry may live under a name (`networks: [front]` becomes
`networks.front`, `network_mode: service:db` becomes `depends_on.db`). `alias_marks` adds those
canonical paths to the marks, pointing at what the user wrote, so consistency errors are located at
the user's own line.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from composer.errors import Location

_NAMESPACES = ("network_mode", "ipc", "pid", "uts", "cgroup")


def _aliases(raw: Mapping[str, Any]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """canonical suffix -> raw suffix, relative to the service."""
    found: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for key in ("networks", "depends_on", "models"):
        value = raw.get(key)
        if isinstance(value, list):
            for index, name in enumerate(value):
                found.setdefault((key, str(name)), (key, index))
    for index, link in enumerate(raw.get("links") or []):
        found.setdefault(("depends_on", str(link).split(":")[0]), ("links", index))
    for key in _NAMESPACES:
        ref = raw.get(key)
        if isinstance(ref, str) and ref.startswith("service:"):
            found.setdefault(("depends_on", ref[len("service:") :]), (key,))
    for index, ref in enumerate(raw.get("volumes_from") or []):
        if not str(ref).startswith("container:"):
            found.setdefault(("depends_on", str(ref).split(":")[0]), ("volumes_from", index))
    return found


def alias_marks(marks: Mapping[tuple[Any, ...], Location], name: str, raw: Mapping[str, Any]) -> None:
    """Add the canonical spellings of `raw`'s entries to `marks` (when it can be written to)."""
    if not isinstance(marks, MutableMapping):
        return
    base = ("services", name)
    for canonical, source in _aliases(raw).items():
        location = marks.get((*base, *source))
        if location is not None and (*base, *canonical) not in marks:
            marks[(*base, *canonical)] = location
