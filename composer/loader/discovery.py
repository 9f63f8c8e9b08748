"""Which Compose files, which project directory, which project name — decided as Compose v2 does.

Files: `-f` (repeatable, `-` is stdin), else COMPOSE_FILE (split on COMPOSE_PATH_SEPARATOR or
os.pathsep), else the first of compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml
in the working directory or its nearest parent that has one, plus that directory's override file.
Relative paths are relative to the current directory. The project directory is
`--project-directory`, else the first file's directory.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence

from composer.errors import ConfigError
from composer.loader.inputs import note

log = logging.getLogger(__name__)

DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_FILES = (
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
)
STDIN = "-"


def absolute(path: str, cwd: str) -> str:
    path = os.path.expanduser(path)
    return os.path.normpath(path if os.path.isabs(path) else os.path.join(cwd, path))


def _present(names: Sequence[str], directory: str) -> list[str]:
    found = []
    for name in names:
        path = os.path.join(directory, name)
        note(path)
        if os.path.isfile(path):
            found.append(path)
    return found


def find_default_files(start: str, warnings: list[str]) -> list[str]:
    """The default file of `start` or its nearest parent, and that directory's override file."""
    directory = start
    while True:
        found = _present(DEFAULT_FILES, directory)
        if found:
            if len(found) > 1:
                warnings.append(f"Found multiple config files with supported names: {', '.join(found)}")
                warnings.append(f"Using {found[0]}")
            overrides = _present(OVERRIDE_FILES, directory)
            if len(overrides) > 1:
                warnings.append(f"Found multiple override files with supported names: {', '.join(overrides)}")
                warnings.append(f"Using {overrides[0]}")
            return found[:1] + overrides[:1]
        parent = os.path.dirname(directory)
        if parent == directory:
            raise ConfigError(
                "no configuration file provided: not found",
                hint=f"run in a directory with one of {', '.join(DEFAULT_FILES)} or pass -f",
            )
        directory = parent


def files_from_environment(environ: Mapping[str, str], cwd: str) -> list[str]:
    """COMPOSE_FILE split on COMPOSE_PATH_SEPARATOR (default os.pathsep); empty if unset."""
    value = environ.get("COMPOSE_FILE")
    if value is None:
        return []
    sep = environ.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
    return [absolute(p, cwd) for p in value.split(sep)]


def working_directory(project_directory: str | None, files: Sequence[str], cwd: str) -> str:
    """`--project-directory`, else the first non-stdin file's directory, else the current one."""
    if project_directory:
        return absolute(project_directory, cwd)
    for f in files:
        if f != STDIN:
            return os.path.dirname(absolute(f, cwd))
    return cwd


def config_files(
    files: Sequence[str], environ: Mapping[str, str], start: str, cwd: str, warnings: list[str]
) -> list[str]:
    """The project's files, absolute (or `-`): `-f`, else COMPOSE_FILE, else discovered from `start`."""
    if files:
        return [f if f == STDIN else absolute(f, cwd) for f in files]
    from_env = files_from_environment(environ, cwd)
    if from_env:
        return from_env
    return find_default_files(start, warnings)


# --- project names ---

_INVALID = re.compile(r"[^a-z0-9_-]")


def normalize_project_name(name: str) -> str:
    """Lowercase, only [a-z0-9_-], no leading `_`/`-` (what Compose does to directory names)."""
    return _INVALID.sub("", name.lower()).lstrip("_-")


def check_project_name(name: str) -> str:
    """A name given by `-p` or COMPOSE_PROJECT_NAME must already be normalized."""
    if normalize_project_name(name) != name:
        raise ConfigError(
            f'invalid project name "{name}": must consist only of lowercase alphanumeric characters, '
            "hyphens, and underscores as well as start with a letter or number"
        )
    return name


def current_directory(environ: Mapping[str, str]) -> str:
    """The working directory as the user's shell names it: $PWD when it is the current directory
    (so a symlinked directory keeps its name, as with Go's os.Getwd), else the resolved path."""
    cwd = os.getcwd()
    pwd = environ.get("PWD")
    if pwd and os.path.isabs(pwd):
        try:
            if os.path.samefile(pwd, cwd):
                return pwd
        except OSError:
            pass
    return cwd
