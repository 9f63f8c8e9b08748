"""The project's environment (shell + `.env`/`--env-file`) and each service's resolved `environment`.

Precedence follows Compose: variables already known (the shell) win over env files; among env
files, a later file does not override an earlier one's keys only when the shell had them. Service
environments: `env_file` entries in order, then the service's own `environment` on top; keys
written without a value take the project's value, or stay null.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from composer.errors import ConfigError
from composer.loader.dotenv import read_dotenv
from composer.loader.inputs import note

log = logging.getLogger(__name__)

_TRUE = {"1", "t", "T", "true", "TRUE", "True"}
_FALSE = {"0", "f", "F", "false", "FALSE", "False"}


def default_env_files(working_dir: str, environ: Mapping[str, str]) -> list[str]:
    """`.env` in the project directory, unless COMPOSE_DISABLE_ENV_FILE is true or it is a directory."""
    disable = environ.get("COMPOSE_DISABLE_ENV_FILE")
    if disable is not None:
        if disable not in _TRUE | _FALSE:
            raise ConfigError(f'invalid COMPOSE_DISABLE_ENV_FILE value "{disable}": expected a boolean')
        if disable in _TRUE:
            return []
    candidate = os.path.join(working_dir, ".env")
    note(candidate)
    return [candidate] if os.path.isfile(candidate) else []


def read_env_files(files: list[str], known: Mapping[str, str]) -> dict[str, str]:
    """Variables from env files in order (later files override earlier ones).

    `${VAR}` in a file resolves against `known` first, then what the files defined so far.
    """
    out: dict[str, str] = {}
    for path in files:
        read_dotenv(os.path.abspath(path), known.get, out)
    return out


def with_defaults(environ: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """`environ` plus the keys of `extra` it does not define (the shell wins over env files)."""
    merged = dict(environ)
    for key, value in extra.items():
        merged.setdefault(key, value)
    return merged


def environment_mapping(value: Any) -> dict[str, str | None]:
    """`environment:` as list (`K=V`, `K`) or map, to a map; None means "no value given"."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {k: None if v is None else _scalar_str(v) for k, v in value.items()}
    out: dict[str, str | None] = {}
    for item in value:
        key, sep, val = str(item).partition("=")
        out[key] = val if sep else None
    return out


def _scalar_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def env_file_entries(value: Any) -> list[dict[str, Any]]:
    """`env_file:` as string, list of strings or long form, to `{path, required, format?}` entries."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, str):
            out.append({"path": item, "required": True})
        else:
            entry = {"path": item["path"], "required": item.get("required", True)}
            if item.get("format") is not None:
                entry["format"] = item["format"]
            out.append(entry)
    return out


def resolve_service_environment(
    service: Mapping[str, Any], project_env: Mapping[str, str]
) -> dict[str, str | None]:
    """The service's final environment: env files (paths already absolute) under its own entries."""
    own = environment_mapping(service.get("environment"))
    own = {k: (project_env.get(k) if v is None else v) for k, v in own.items()}

    result: dict[str, str | None] = {}
    for entry in env_file_entries(service.get("env_file")):
        path = entry["path"]
        note(path)
        if not os.path.exists(path):
            if entry["required"]:
                raise ConfigError(f"env file {path} not found: stat {path}: no such file or directory")
            continue
        fmt = entry.get("format")
        if fmt not in (None, "", ".env", "raw"):
            raise ConfigError(f'unsupported env_file format "{fmt}"')

        def lookup(name: str) -> str | None:
            if name in project_env:
                return project_env[name]
            return own.get(name)

        result.update(read_raw_env(path, lookup) if fmt == "raw" else read_dotenv(path, lookup))
    result.update(own)
    return result


def read_raw_env(path: str, lookup: Callable[[str], str | None]) -> dict[str, str]:
    """`format: raw`: `KEY=VALUE` lines taken verbatim (no quotes, no interpolation, no inline
    comments); `#` lines and blank lines skipped; a bare `KEY` takes the known value, if any."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        note(path, text)
        lines = text.splitlines()
    except OSError as exc:
        raise ConfigError(f"failed to read env_file {path}: {exc.strerror or exc}") from None
    out: dict[str, str] = {}
    for line in lines:
        text = line.lstrip()
        if not text or text.startswith("#"):
            continue
        key, sep, value = text.partition("=")
        if any(c.isspace() for c in key):
            raise ConfigError(f"failed to parse env_file {path}: variable '{key}' contains whitespaces")
        if sep:
            out[key] = value
        else:
            known = lookup(key)
            if known is not None:
                out[key] = known
    return out


def resolve_service_labels(service: Mapping[str, Any]) -> dict[str, str]:
    """`label_file` entries (paths already absolute) in order, under the service's own `labels`.

    `${VAR}` in a label file resolves against the labels read so far, as the reference does."""
    result: dict[str, str] = {}
    files = service.get("label_file")
    for path in [files] if isinstance(files, str) else list(files or []):
        read_dotenv(path, lambda _name: None, result)
    own = service.get("labels")
    if isinstance(own, dict):
        result.update({k: "" if v is None else _scalar_str(v) for k, v in own.items()})
    elif isinstance(own, list):
        for item in own:
            key, _, value = str(item).partition("=")
            result[key] = value
    return result
