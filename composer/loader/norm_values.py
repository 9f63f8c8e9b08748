"""Shared pieces of service normalization: the error type, the context, maps, commands, lists."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from composer.canonical.units import UnitError, scalar_str, to_int
from composer.loader.norm_devices import DeviceError
from composer.loader.norm_ports import PortError
from composer.loader.norm_shellwords import ShellWordsError, split_words
from composer.loader.norm_volumes import VolumeError

SERVICE_PREFIX = "service:"
CONTAINER_PREFIX = "container:"


class FieldError(ValueError):
    """A value that cannot be normalized; `path` is relative to the service."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass(frozen=True)
class ServiceContext:
    project_dir: str
    environment: Mapping[str, str]
    home: str


def split_command(value: Any) -> list[str] | None:
    """Compose splits a string command into words (see norm_shellwords; no expansion)."""
    if value is None:
        return None
    if isinstance(value, list):
        return [scalar_str(v) for v in value]
    try:
        return split_words(str(value))
    except ShellWordsError as exc:
        raise FieldError((), f"{exc}: {value}") from exc


def to_mapping(value: Any, *, empty: str | None, env: Mapping[str, str] | None) -> dict[str, Any]:
    """A list of "k=v" or a map, to a map of strings.

    Value-less entries ("K" or "K:" ) take the value from `env` when given and set, else `empty`
    (None keeps them as null, "" makes them empty strings, as labels do).
    """
    result: dict[str, Any] = {}
    if isinstance(value, dict):
        items = [(str(k), v) for k, v in value.items()]
    else:
        items = []
        for entry in value or []:
            key, sep, val = str(entry).partition("=")
            items.append((key, val if sep else None))
    for key, val in items:
        if val is None:
            if env is not None and key in env:
                result[key] = env[key]
            else:
                result[key] = empty
        else:
            result[key] = scalar_str(val)
    return result


def build_args(value: Any, env: Mapping[str, str]) -> dict[str, Any]:
    """Build args: value-less entries take the environment's value, or are dropped."""
    mapped = to_mapping(value, empty=None, env=env)
    return {k: v for k, v in mapped.items() if v is not None}


def extra_hosts(value: Any) -> list[str]:
    hosts: dict[str, list[str]] = {}
    if isinstance(value, dict):
        for host, ips in value.items():
            entries = ips if isinstance(ips, list) else ["" if ips is None else ips]
            hosts.setdefault(str(host), []).extend(scalar_str(i) for i in entries)
    else:
        for entry in value or []:
            text = str(entry)
            for sep in ("=", ":"):
                host, found, ip = text.partition(sep)
                if found:
                    hosts.setdefault(host, []).extend(ip.split(","))
                    break
            else:
                raise FieldError((), f"invalid additional host, missing IP: {text}")
    lines = []
    for host, ips in hosts.items():
        if not host or any(c in host for c in ":="):
            raise FieldError((), f"bad host name '{host}'")
        for ip in ips:
            if len(ip) > 2 and ip[0] == "[" and ip[-1] == "]":
                ip = ip[1:-1]
            lines.append(f"{host}={ip}")
    return sorted(lines)


def string_list(value: Any) -> list[str]:
    return [scalar_str(value)] if not isinstance(value, list) else [scalar_str(v) for v in value]


def file_refs(value: list[Any], *, secret: bool, default_target: bool = True) -> list[dict[str, Any]]:
    refs = []
    for item in value:
        ref = {"source": item} if isinstance(item, str) else dict(item)
        if secret and default_target and "target" not in ref:
            ref["target"] = f"/run/secrets/{ref.get('source')}"
        if "mode" in ref and ref["mode"] is not None:
            mode = ref["mode"]
            number = int(mode, 8) if isinstance(mode, str) else to_int(mode)
            ref["mode"] = "0" + format(number, "o")
        for key in ("uid", "gid"):
            if key in ref:
                ref[key] = scalar_str(ref[key])
        refs.append(ref)
    return refs


def convert(section: dict[str, Any], key: str, fn: Callable[[Any], Any]) -> None:
    """Convert `section[key]` in place when present; a bad value is reported at that key."""
    if section.get(key) is None:
        return
    try:
        section[key] = fn(section[key])
    except UnitError as exc:
        raise FieldError((key,), str(exc)) from exc


def within(path: tuple[str | int, ...], fn: Callable[[Any], Any], value: Any) -> Any:
    """Run `convert`, prefixing the location of any FieldError with `path`."""
    try:
        return fn(value)
    except FieldError as exc:
        raise FieldError((*path, *exc.path), exc.message) from exc


def each(items: list[Any], step: Callable[[Any], list[Any]]) -> list[Any]:
    """Apply `step` to every item, naming the item's index when it fails."""
    result: list[Any] = []
    for index, item in enumerate(items):
        try:
            result.extend(step(item))
        except (UnitError, PortError, VolumeError, DeviceError, TypeError, AttributeError) as exc:
            raise FieldError((index,), str(exc)) from exc
    return result


# Sizes print as strings of bytes: "0" is their empty value.
BYTES_KEYS = ("mem_limit", "mem_reservation", "memswap_limit", "mem_swappiness", "shm_size")
# Pointer fields in the reference's model: a zero value is still printed.
_KEEP_ZERO = ("scale", "attach", "init", "command", "entrypoint")


def drop_empty_values(service: dict[str, Any], keep: tuple[str, ...] = _KEEP_ZERO) -> None:
    """Drop what the reference omits as empty: false, 0, "", [] and {} (Go's omitempty)."""
    for key in list(service):
        value = service[key]
        if key in keep or key.startswith("x-"):
            continue
        empty = value is None or value is False or (not isinstance(value, bool) and value in (0, "", [], {}))
        if empty or (key in BYTES_KEYS and value == "0"):
            del service[key]


def home_dir(environment: Mapping[str, str]) -> str:
    return environment.get("HOME") or os.path.expanduser("~")
