"""Relative paths written in a file the project directory does not govern, made absolute.

Split with normalize.py: normalization resolves the paths that stay in the output against the
project directory. The loader resolves, on the user's own spellings and before merging:
- `env_file` / `label_file` of every service (the loader reads them), against the project directory;
- everything path-like of a service taken from another file by `extends: {file: ...}`, against that
  file's directory, and of an included project, against its project directory;
so that normalization only ever sees paths that are absolute or relative to the project directory.
"""

from __future__ import annotations

import os
from typing import Any

from composer.loader.yamlsrc import Override

_REMOTE_PREFIXES = ("http://", "https://", "git://", "git@", "github.com/", "ssh://")
_CONTEXT_SCHEMES = ("docker-image://", "service:", "oci-layout://")


def _abs(path: str, base: str) -> str:
    if path.startswith("~"):
        path = os.path.expanduser(path)
    if not path or os.path.isabs(path):
        return path
    return os.path.normpath(os.path.join(base, path))


def is_remote(path: str) -> bool:
    """A URL, git or OCI reference rather than a local path (build contexts, include, extends)."""
    return path.startswith(_REMOTE_PREFIXES) or "://" in path


def _context(path: Any, base: str) -> Any:
    if not isinstance(path, str) or is_remote(path) or path.startswith(_CONTEXT_SCHEMES):
        return path
    return _abs(path, base)


def _file_list(value: Any, base: str) -> Any:
    if isinstance(value, str):
        return _abs(value, base)
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            if isinstance(item, str):
                out.append(_abs(item, base))
            elif isinstance(item, dict) and isinstance(item.get("path"), str):
                out.append({**item, "path": _abs(item["path"], base)})
            else:
                out.append(item)
        return out
    return value


def _short_volume(spec: str, base: str) -> str:
    source, sep, rest = spec.partition(":")
    if sep and source.startswith((".", "~")):
        return _abs(source, base) + ":" + rest
    return spec


def _build(build: Any, base: str) -> Any:
    if isinstance(build, str):
        return _context(build, base)
    if not isinstance(build, dict):
        return build
    out = dict(build)
    out["context"] = _context(out.get("context", "."), base)
    extra = out.get("additional_contexts")
    if isinstance(extra, dict):
        out["additional_contexts"] = {k: _context(v, base) for k, v in extra.items()}
    elif isinstance(extra, list):
        items = []
        for item in extra:
            key, sep, value = str(item).partition("=")
            items.append(f"{key}={_context(value, base)}" if sep else item)
        out["additional_contexts"] = items
    return out


def _volume(volume: Any, base: str) -> Any:
    if isinstance(volume, str):
        return _short_volume(volume, base)
    if isinstance(volume, dict) and volume.get("type") == "bind" and isinstance(volume.get("source"), str):
        return {**volume, "source": _abs(volume["source"], base)}
    return volume


def own_files(service: dict[str, Any], base: str) -> dict[str, Any]:
    """`env_file`, `label_file` (and a nested `extends.file`) of one service, made absolute."""
    out = dict(service)
    for key in ("env_file", "label_file"):
        if key in out:
            out[key] = _file_list(out[key], base)
    return out


def rebase_service(service: Any, base: str) -> Any:
    """Every relative path of a service definition, made absolute against `base`."""
    if isinstance(service, Override):
        return Override(rebase_service(service.value, base))
    if not isinstance(service, dict):
        return service
    out = own_files(service, base)
    if "build" in out:
        out["build"] = _build(out["build"], base)
    if isinstance(out.get("volumes"), list):
        out["volumes"] = [_volume(v, base) for v in out["volumes"]]
    extends = out.get("extends")
    if isinstance(extends, dict) and isinstance(extends.get("file"), str):
        out["extends"] = {**extends, "file": _abs(extends["file"], base)}
    develop = out.get("develop")
    if isinstance(develop, dict) and isinstance(develop.get("watch"), list):
        watch = [
            {**w, "path": _abs(w["path"], base)}
            if isinstance(w, dict) and isinstance(w.get("path"), str)
            else w
            for w in develop["watch"]
        ]
        out["develop"] = {**develop, "watch": watch}
    return out


def rebase_project(data: dict[str, Any], base: str) -> dict[str, Any]:
    """All relative paths of a whole project (services and top-level resources) against `base`."""
    out = dict(data)
    if isinstance(out.get("services"), dict):
        out["services"] = {name: rebase_service(s, base) for name, s in out["services"].items()}
    for kind in ("secrets", "configs"):
        if isinstance(out.get(kind), dict):
            out[kind] = {
                name: {**r, "file": _abs(r["file"], base)}
                if isinstance(r, dict) and isinstance(r.get("file"), str)
                else r
                for name, r in out[kind].items()
            }
    if isinstance(out.get("volumes"), dict):
        volumes = {}
        for name, vol in out["volumes"].items():
            opts = vol.get("driver_opts") if isinstance(vol, dict) else None
            if isinstance(opts, dict) and opts.get("o") == "bind" and isinstance(opts.get("device"), str):
                vol = {**vol, "driver_opts": {**opts, "device": _abs(opts["device"], base)}}
            volumes[name] = vol
        out["volumes"] = volumes
    return out
