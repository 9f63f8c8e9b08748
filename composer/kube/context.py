"""What one conversion carries along: the project, where its files are, the objects made so far and the
warnings for what has no Kubernetes equivalent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from composer.model import Project


@dataclass
class Conversion:
    project: Project
    project_dir: str
    environment: Mapping[str, str]  # the interpolation environment (secrets/configs from `environment:`)
    objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (kind, name) -> object
    warnings: list[str] = field(default_factory=list)

    def add(self, obj: dict[str, Any]) -> None:
        key = (obj["kind"], obj["metadata"]["name"])
        if key in self.objects and self.objects[key] != obj:
            from composer.errors import ComposerError

            raise ComposerError(
                f"two Compose objects become the same Kubernetes {key[0]} {key[1]!r}: rename one of them"
            )
        self.objects[key] = obj

    def warn(self, where: str, what: str) -> None:
        """One warning per place and problem, worded 'service web: init has no Kubernetes equivalent'."""
        line = f"{where}: {what}"
        if line not in self.warnings:
            self.warnings.append(line)
