"""Helpers shared by the commands that act on a project's existing containers (which they reach through
`composer.session.open_session`): progress lines, --index, parallel calls, tables, human sizes."""

from __future__ import annotations

from collections.abc import Sequence

from composer._log import get_logger
from composer._typecheck import TYPE_CHECKING
from composer.client import engine_errors
from composer.errors import ComposerError

if TYPE_CHECKING:
    from typing import Any

    from composer.model import Project

log = get_logger(__name__)


def event_line(resource: str, text: str, status: str) -> None:
    """A plain progress line with a text of its own (" at-app-1 Commit at-app-1 Committing")."""
    import sys

    sys.stderr.write(f" {resource} {text} {status}\n")
    sys.stderr.flush()


def parse_index(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        index = int(value)
    except ValueError:
        raise ComposerError(f"invalid --index value {value!r}: expected a number") from None
    if index < 1:
        raise ComposerError(f"invalid --index value {value!r}: containers are numbered from 1")
    return index


def in_parallel(items: Sequence[Any], action: Any) -> list[Any]:
    """action(item) for every item at once (threads: each is one blocking API call); the first failure
    is raised after all finished, as one ComposerError line."""
    from concurrent.futures import ThreadPoolExecutor

    if not items:
        return []
    with engine_errors(), ThreadPoolExecutor(max_workers=min(16, len(items))) as pool:
        futures = [pool.submit(action, item) for item in items]
        return [f.result() for f in futures]


def table(rows: Sequence[Sequence[str]], *, padding: int = 2, min_width: int = 0) -> str:
    """Left-aligned columns as Go's tabwriter makes them (the last column is not padded)."""
    if not rows:
        return ""
    widths = [max(min_width, *(len(r[i]) + padding for r in rows)) for i in range(len(rows[0]) - 1)]
    out = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        out.append(("".join(cells) + row[-1]).rstrip() + "\n")
    return "".join(out)


def human_size(size: float, *, binary: bool = False) -> str:
    """go-units HumanSize (decimal, 3 significant digits: "1.98MB") or BytesSize (binary: "292KiB")."""
    base, units = (
        (1024.0, ("B", "KiB", "MiB", "GiB", "TiB", "PiB"))
        if binary
        else (
            1000.0,
            ("B", "kB", "MB", "GB", "TB", "PB"),
        )
    )
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    if binary:
        return f"{size:.4g}{units[i]}" if i else f"{int(size)}{units[i]}"
    return f"{size:.3g}{units[i]}"


def human_duration(seconds: float) -> str:
    """go-units HumanDuration, as the docker CLI's CREATED column shows it ("1 second ago" is added by
    the caller's " ago")."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(s / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{hours // 24 // 365} years"


def selected(project: Project, services: Sequence[str], *, include_deps: bool) -> list[str]:
    """The named services (all when none named) in start order, with their dependencies on request."""
    from composer.graph import start_levels, with_dependencies

    wanted = set(services or project.services)
    if include_deps:
        wanted = set(with_dependencies(project, wanted))
    return [name for level in start_levels(project) for name in level if name in wanted]
