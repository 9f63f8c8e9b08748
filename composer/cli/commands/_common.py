"""Helpers shared by the commands that act on a project's existing containers.

Engine access goes through `connect()`, a thin layer over `composer.client.connect`.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from composer.cli.options import GlobalOptions
from composer.errors import ComposerError

if TYPE_CHECKING:
    from composer.containers import ProjectContainer
    from composer.lite import Client
    from composer.loader.pipeline import LoadedProject
    from composer.model import Project

log = logging.getLogger(__name__)


def connect(options: GlobalOptions, *, streaming: bool = False) -> Client:
    """The engine client for the selected engine (`composer.client.connect`, which starts the embedded
    engine when it is the target). `streaming` lifts the per-request timeout for calls that legitimately
    block for long (logs -f, events, wait, exec sessions)."""
    from composer.client import connect as connect_engine

    api = connect_engine(options).api
    if streaming:
        api.timeout = None
    return api


@contextlib.contextmanager
def engine_errors() -> Iterator[None]:
    """Engine API failures become one ComposerError line (the engine's own message when it sent one)."""
    from composer.transport import APIError

    try:
        yield
    except APIError as exc:
        raise ComposerError(str(exc.explanation or exc).strip()) from None
    except OSError as exc:
        raise ComposerError(f"cannot reach the engine: {exc}") from None


@dataclass(frozen=True)
class Target:
    """The loaded project and a client of the engine it runs on."""

    loaded: LoadedProject
    api: Client

    @property
    def name(self) -> str:
        return self.loaded.name

    def check_services(self, services: Sequence[str]) -> None:
        known = set(self.loaded.project.services) | set(self.loaded.disabled_services)
        unknown = [s for s in services if s not in known]
        if unknown:
            raise ComposerError(f"no such service: {unknown[0]}")

    def containers(
        self,
        services: Sequence[str] = (),
        *,
        all: bool = False,
        oneoff: bool | None = False,
        check: bool = True,
    ) -> list[ProjectContainer]:
        from composer.containers import list_containers

        if check:
            self.check_services(services)
        with engine_errors():
            return list_containers(self.api, self.name, services, all=all, oneoff=oneoff)

    def container(self, service: str, index: int | None, *, check: bool = True) -> ProjectContainer:
        """One running container of a service: `--index` N, else the first (as `docker compose exec`).
        check=False: an unknown service is just "not running" (attach, commit, export, as Compose)."""
        found = self.containers([service], check=check)
        if not found:
            raise ComposerError(f'service "{service}" is not running')
        if index is not None:
            found = [c for c in found if c.number == index]
            if not found:
                raise ComposerError(f'service "{service}" is not running container #{index}')
        return found[0]


def target(options: GlobalOptions, services: Sequence[str] = (), *, streaming: bool = False) -> Target:
    from composer.cli.project import load

    loaded = load(options)
    t = Target(loaded, connect(options, streaming=streaming))
    t.check_services(services)
    return t


def progress(kind: str, name: str, status: str) -> None:
    """A plain progress line on stderr, as `docker compose` prints when stderr is not a terminal."""
    sys.stderr.write(f" {kind} {name}  {status}\n")
    sys.stderr.flush()


def event_line(resource: str, text: str, status: str) -> None:
    """A plain progress line with a text of its own (" at-app-1 Commit at-app-1 Committing")."""
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
