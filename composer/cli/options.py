"""Global options shared by every command, parsed once by the entry point (the dataclass lives in
`composer.options`, shared with the Python API)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from composer.options import GlobalOptions, UsageError
from composer.presenter import ANSI_MODES

__all__ = ["GlobalOptions", "UsageError", "global_options"]

PROGRESS_MODES = ("auto", "tty", "plain", "json", "quiet")


def global_options(parsed: Mapping[str, Any], environ: Mapping[str, str]) -> GlobalOptions:
    """The global flags docopt parsed, checked."""
    ansi = parsed.get("--ansi") or "auto"
    if ansi not in ANSI_MODES:
        raise UsageError(f"invalid --ansi value {ansi!r}: use one of {', '.join(ANSI_MODES)}")
    progress = parsed.get("--progress") or "auto"
    if progress not in PROGRESS_MODES:
        raise UsageError(f"invalid --progress value {progress!r}: use one of {', '.join(PROGRESS_MODES)}")
    return GlobalOptions(
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
