"""Global options shared by every command, parsed once by the entry point."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from composer.errors import ComposerError
from composer.presenter import ANSI_MODES

PROGRESS_MODES = ("auto", "tty", "plain", "json", "quiet")


class UsageError(ComposerError):
    """Bad command-line usage; docker compose exits 1 for these too."""


@dataclass(frozen=True)
class GlobalOptions:
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

    @classmethod
    def from_docopt(cls, parsed: Mapping[str, Any], environ: Mapping[str, str]) -> GlobalOptions:
        ansi = parsed.get("--ansi") or "auto"
        if ansi not in ANSI_MODES:
            raise UsageError(f"invalid --ansi value {ansi!r}: use one of {', '.join(ANSI_MODES)}")
        progress = parsed.get("--progress") or "auto"
        if progress not in PROGRESS_MODES:
            raise UsageError(f"invalid --progress value {progress!r}: use one of {', '.join(PROGRESS_MODES)}")
        return cls(
            files=tuple(parsed.get("--file") or ()),
            project_name=parsed.get("--project-name"),
            project_directory=parsed.get("--project-directory"),
            env_files=tuple(parsed.get("--env-file") or ()),
            profiles=tuple(parsed.get("--profile") or ()),
            ansi=ansi,
            progress=progress,
            host=parsed.get("--host"),
            context=parsed.get("--context"),
            debug=bool(parsed.get("--debug")),
            dry_run=bool(parsed.get("--dry-run")),
            environ=dict(environ),
        )
