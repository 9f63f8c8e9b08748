"""Service `volumes`: short syntax ("src:dst:ro,z") and long form to the canonical mount entries.

Bind sources are resolved here (the one place for mount paths): `~` against HOME, relative paths
against the project directory, then cleaned like Go's path.Clean.
"""

from __future__ import annotations

import os
import posixpath
from typing import Any

from composer.canonical.units import UnitError, canonical_bytes, to_bool, to_int

_PROPAGATIONS = {"rprivate", "private", "rshared", "shared", "rslave", "slave"}
_SELINUX = {"z", "Z"}


class VolumeError(ValueError):
    pass


def is_file_path(source: str) -> bool:
    """Compose's rule for a bind source in the short syntax: a path (., /, ~, \\\\) or a drive."""
    return bool(source) and (source[0] in "./~" or source.startswith("\\\\") or _has_drive(source))


def _has_drive(path: str) -> bool:
    return len(path) >= 2 and path[0].isalpha() and path[1] == ":"


def is_windows_path(path: str) -> bool:
    """`C:\\x` or `C:/x`: an absolute Windows path, kept verbatim as the reference does on any host."""
    return _has_drive(path) and len(path) >= 3 and path[2] in "\\/"


def resolve_host_path(path: str, project_dir: str, home: str) -> str:
    """`~` expands to HOME, relative paths join the project directory (both cleaned); absolute paths
    are kept exactly as written, like the reference."""
    if path.startswith("~"):
        return posixpath.normpath(posixpath.join(home, path[1:].lstrip("/")))
    if os.path.isabs(path) or is_windows_path(path) or path.startswith("\\\\"):
        return path
    return posixpath.normpath(posixpath.join(project_dir, path))


def _split_fields(spec: str) -> list[str]:
    """Split on ':' except inside ${...}; an empty field is an error as in Compose."""
    fields: list[str] = []
    buf: list[str] = []
    depth = 0
    i = 0
    while i < len(spec):
        char = spec[i]
        if char == "$" and spec[i + 1 : i + 2] == "{":
            depth += 1
        elif char == "}" and depth:
            depth -= 1
        elif char == ":" and depth == 0 and not (len(buf) == 1 and buf[0].isalpha()):
            # a one-letter field followed by ':' is a Windows drive (C:\\data), not a separator
            fields.append("".join(buf))
            buf = []
            i += 1
            continue
        buf.append(char)
        i += 1
    fields.append("".join(buf))
    return fields


def parse_volume_spec(spec: str) -> dict[str, Any]:
    """Short syntax to a long-form mount (paths not yet resolved)."""
    if not spec:
        raise VolumeError("invalid empty volume spec")
    if len(spec) <= 2:
        return {"type": "volume", "target": spec}
    fields = _split_fields(spec)
    if any(not f for f in fields):
        raise VolumeError(f"invalid spec: {spec}: empty section between colons")
    if len(fields) > 3:
        raise VolumeError(f"invalid spec: {spec}: too many colons")
    mount: dict[str, Any] = {}
    source = fields[0] if len(fields) > 1 else ""
    target = fields[1] if len(fields) > 1 else fields[0]
    read_only = False
    bind: dict[str, Any] = {}
    volume: dict[str, Any] | None = None
    if len(fields) == 3:
        for option in fields[2].split(","):
            if option == "ro":
                read_only = True
            elif option == "rw":
                read_only = False
            elif option == "nocopy":
                volume = {"nocopy": True}
            elif option in _PROPAGATIONS:
                bind["propagation"] = option
            elif option in _SELINUX:
                bind["selinux"] = option
    if is_file_path(source):
        mount["type"] = "bind"
    else:
        mount["type"] = "volume"
    if source:
        mount["source"] = source
    mount["target"] = target
    if read_only:
        mount["read_only"] = True
    if mount["type"] == "bind":
        bind["create_host_path"] = True
        mount["bind"] = bind
        if volume is not None:
            mount["volume"] = volume  # the reference keeps `nocopy` even on a bind
    else:
        if bind:
            mount["bind"] = bind
        mount["volume"] = volume if volume is not None else {}
    return mount


def _labels(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    return {k: v for k, _, v in (str(item).partition("=") for item in value)}


def _clean_target(target: str) -> str:
    return posixpath.normpath(target) if target else target


def normalize_volume(item: Any, project_dir: str, home: str) -> dict[str, Any]:
    mount = parse_volume_spec(item) if isinstance(item, str) else dict(item)
    if "target" in mount and mount["target"] is not None:
        mount["target"] = _clean_target(str(mount["target"]))
    if "read_only" in mount:
        mount["read_only"] = to_bool(mount["read_only"])
        if not mount["read_only"]:
            del mount["read_only"]
    if mount.get("type") == "bind" and not mount.get("source"):
        raise VolumeError('invalid mount config for type "bind": field Source must not be empty')
    if mount.get("type") == "bind" and mount.get("source"):
        mount["source"] = resolve_host_path(str(mount["source"]), project_dir, home)
    if mount.get("source") == "":
        del mount["source"]  # an anonymous volume (or tmpfs): the reference omits the empty source
    if isinstance(mount.get("bind"), dict):
        bind = dict(mount["bind"])
        if "create_host_path" in bind:
            bind["create_host_path"] = to_bool(bind["create_host_path"])
            if not bind["create_host_path"]:
                del bind["create_host_path"]  # printed only when true, like the reference
        mount["bind"] = bind
    if isinstance(mount.get("tmpfs"), dict):
        tmpfs = dict(mount["tmpfs"])
        try:
            if "size" in tmpfs:
                tmpfs["size"] = canonical_bytes(tmpfs["size"])
            if "mode" in tmpfs:
                tmpfs["mode"] = to_int(tmpfs["mode"])
        except UnitError as exc:
            raise VolumeError(str(exc)) from exc
        mount["tmpfs"] = tmpfs
    if isinstance(mount.get("volume"), dict):
        volume = dict(mount["volume"])
        if "nocopy" in volume:
            volume["nocopy"] = to_bool(volume["nocopy"])
            if not volume["nocopy"]:
                del volume["nocopy"]
        if "labels" in volume:
            volume["labels"] = _labels(volume["labels"])
        mount["volume"] = volume
    return mount
