"""What selects a project and an engine: the same for the CLI's global flags and the Python API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from composer.errors import ComposerError


class UsageError(ComposerError):
    """Bad usage (a flag, an argument, an unknown service); docker compose exits 1 for these too."""


@dataclass(frozen=True)
class GlobalOptions:
    """The global flags: which project, which engine, how to print."""

    files: tuple[str, ...] = ()
    project_name: str | None = None
    project_directory: str | None = None
    env_files: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    ansi: str = "auto"
    progress: str = "auto"  # auto, tty, plain, json, quiet; up/create/down's own --progress wins
    host: str | None = None
    context: str | None = None  # --context: a docker context by name (with -H it is an error)
    debug: bool = False
    dry_run: bool = False
    environ: Mapping[str, str] = field(default_factory=dict)
