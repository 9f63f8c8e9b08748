"""What a load is asked for (LoadOptions) and what it gives (LoadedProject): kept apart from the pipeline
so a project taken from composer.projectcache is built without importing the loader's stages.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from composer._typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    from composer.loader.yamlsrc import Marks
    from composer.model import Project


@dataclass(frozen=True)
class LoadOptions:
    """What a load is asked for: the files, the project, the environment."""

    files: Sequence[str] = ()
    project_directory: str | None = None
    project_name: str | None = None
    env_files: Sequence[str] = ()
    profiles: Sequence[str] = ()
    interpolate: bool = True
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    services: Sequence[str] = ()
    working_dir: str = field(default_factory=os.getcwd)
    stdin_text: str | None = None  # content for `-f -`; read from sys.stdin when None


@dataclass(frozen=True)
class LoadedProject:
    """A loaded project: its canonical form, typed model and where it came from."""

    canonical: dict[str, Any]
    name: str
    working_dir: str
    config_files: tuple[str, ...]
    environment: Mapping[str, str]  # the interpolation environment (shell + env files)
    marks: Marks
    profiles: tuple[str, ...]  # active profiles
    all_profiles: frozenset[str]  # every profile any service declares
    disabled_services: tuple[str, ...]
    warnings: tuple[str, ...]
    built: Project | None = field(default=None, compare=False, repr=False)  # else from `canonical`

    @cached_property
    def project(self) -> Project:
        """The typed model; built on first use when the load did not build it (a cached project: `ps`
        or `config -q` never need it, and importing the model is ~4 ms)."""
        if self.built is not None:
            return self.built
        from composer.model import Project

        return Project.from_dict(self.canonical)
