"""`include`: other Compose projects loaded on their own terms and imported into this one.

Each entry (a path string, or `{path, project_directory, env_file}`) is loaded as a project with
its own directory (default: the directory of its first file) and environment (its own `.env`
under the parent's variables), so its relative paths resolve against its own directory. A
service/network/volume/secret/config the including file also defines, differently, is an error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from composer.errors import ConfigError, Location
from composer.loader.environment import read_env_files, with_defaults
from composer.loader.inputs import note
from composer.loader.paths import is_remote, rebase_project
from composer.loader.yamlsrc import Marks

# (files, project_dir, environment, include chain) -> (model, marks)
LoadModel = Callable[[list[str], str, Mapping[str, str], tuple[str, ...]], tuple[dict[str, Any], Marks]]

_IMPORTED = ("services", "volumes", "networks", "secrets", "configs", "models")


def _entries(value: Any, marks: Marks) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"`include` must be a list, got {value}", location=marks.get(("include",)))
    out = []
    for index, item in enumerate(value):
        entry = {"path": item} if isinstance(item, str) else dict(item) if isinstance(item, dict) else None
        if entry is None:
            raise ConfigError(
                f"include[{index}] must be a path or a mapping with a `path`", location=_where(marks, index)
            )
        for key in ("path", "env_file"):
            if isinstance(entry.get(key), str):
                entry[key] = [entry[key]]
        paths = entry.get("path")
        if not paths or not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ConfigError(
                f"include[{index}].path must be a path or a list of paths", location=_where(marks, index)
            )
        env_files = entry.get("env_file")
        if env_files is not None and not (
            isinstance(env_files, list) and all(isinstance(f, str) for f in env_files)
        ):
            raise ConfigError(
                f"include[{index}].env_file must be a path or a list of paths", location=_where(marks, index)
            )
        if not isinstance(entry.get("project_directory", ""), str):
            raise ConfigError(
                f"include[{index}].project_directory must be a path", location=_where(marks, index)
            )
        out.append(entry)
    return out


def _where(marks: Marks, index: int) -> Location | None:
    return marks.get(("include", index)) or marks.get(("include",))


def _resolve_list_environment(model: dict[str, Any], environ: Mapping[str, str]) -> None:
    """Value-less `environment` list entries take the included project's value (as the reference)."""
    for service in (model.get("services") or {}).values():
        if isinstance(service, dict) and isinstance(service.get("environment"), list):
            service["environment"] = [
                f"{item}={environ[item]}"
                if isinstance(item, str) and "=" not in item and item in environ
                else item
                for item in service["environment"]
            ]


def apply_include(
    data: dict[str, Any],
    working_dir: str,
    environ: Mapping[str, str],
    chain: tuple[str, ...],
    load_model: LoadModel,
    marks: Marks,
) -> dict[str, Any]:
    """`data` without `include`, with the included projects' resources imported into it."""
    entries = _entries(data.get("include"), marks)
    if not entries:
        return data
    model = {k: v for k, v in data.items() if k != "include"}
    for index, entry in enumerate(entries):
        where = _where(marks, index)
        remote = next((p for p in entry["path"] if is_remote(p)), None)
        if remote is not None:
            raise ConfigError(f"remote include is not supported: {remote}", location=where)
        files = [
            p if os.path.isabs(p) else os.path.join(working_dir, os.path.expanduser(p)) for p in entry["path"]
        ]
        files = [os.path.normpath(f) for f in files]
        if files[0] in chain:
            cycle = " include ".join((*chain, files[0]))
            raise ConfigError(f"include cycle detected: {cycle}", location=where)
        project_dir = entry.get("project_directory")
        if project_dir is None:
            project_dir = os.path.dirname(files[0])
        elif not os.path.isabs(project_dir):
            project_dir = os.path.normpath(os.path.join(working_dir, project_dir))
        try:
            env = with_defaults(environ, _included_env(entry, working_dir, project_dir, environ))
        except ConfigError as exc:
            raise ConfigError(exc.detail, location=exc.location or where) from None
        try:
            included, included_marks = load_model(files, project_dir, env, (*chain, files[0]))
        except ConfigError as exc:
            if exc.location is not None:
                raise
            raise ConfigError(exc.detail, location=where, key_path=f"include[{index}]") from None
        included = rebase_project(included, project_dir)
        _resolve_list_environment(included, env)
        for kind in _IMPORTED:
            source = included.get(kind)
            if not isinstance(source, dict):
                continue
            target = dict(model.get(kind) or {})
            for name, value in source.items():
                if name in target and target[name] != value:
                    raise ConfigError(
                        f"{kind}.{name} conflicts with imported resource",
                        location=marks.get((kind, name)) or where,
                    )
                target[name] = value
            model[kind] = target
        for path, location in included_marks.items():
            marks.setdefault(path, location)
    return model


def _included_env(
    entry: dict[str, Any], working_dir: str, project_dir: str, environ: Mapping[str, str]
) -> dict[str, str]:
    env_files = entry.get("env_file")
    if env_files is None:
        default = os.path.join(project_dir, ".env")
        note(default)
        files = [default] if os.path.isfile(default) else []
    else:
        files = []
        for f in env_files:
            if f == "/dev/null":
                continue
            if not os.path.isabs(f):
                f = os.path.join(working_dir, f)
                note(f)
                if not os.path.exists(f):
                    raise ConfigError(f"stat {f}: no such file or directory")
                if os.path.isdir(f):
                    raise ConfigError(f"{f} is not a file")
            files.append(f)
    return read_env_files(files, environ)
