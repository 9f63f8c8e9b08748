"""One error root for the composer package; the CLI boundary prints these once."""

from __future__ import annotations

from dataclasses import dataclass


class ComposerError(Exception):
    """An error meant for the user: its message is printed as-is, one line, and exits non-zero."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Location:
    """Where in a Compose file a value came from (1-based line and column)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class ConfigError(ComposerError):
    """An invalid project: rendered as `file:line:col: key.path: message`."""

    exit_code = 1  # as docker compose v2: every project error exits 1

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        key_path: str | None = None,
        hint: str | None = None,
    ) -> None:
        parts = []
        if location is not None:
            parts.append(str(location))
        if key_path:
            parts.append(key_path)
        parts.append(message)
        super().__init__(": ".join(parts), hint)
        self.location = location
        self.key_path = key_path
        self.detail = message
        self.warnings: tuple[str, ...] = ()  # the loader's warnings before it failed
