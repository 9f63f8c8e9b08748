"""Profiles and services selected on the command line decide which services a project has.

As Compose v2: a service without `profiles` is always on; one with profiles is on when one of its
profiles is active (`*` activates all). Naming a disabled service on the command line activates its
profiles; a selection keeps the named services and, recursively, the services they depend on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from composer.errors import ComposerError


def active_profiles(requested: Iterable[str], environ: Mapping[str, str]) -> list[str]:
    """`--profile` values, else COMPOSE_PROFILES (comma separated)."""
    profiles = [p for p in requested]
    if profiles:
        return profiles
    return [p.strip() for p in environ.get("COMPOSE_PROFILES", "").split(",")]


def _profiles_of(service: Any) -> list[str]:
    if isinstance(service, dict) and isinstance(service.get("profiles"), list):
        return [str(p) for p in service["profiles"]]
    return []


def is_enabled(service: Any, profiles: list[str]) -> bool:
    own = _profiles_of(service)
    return not own or "*" in profiles or any(p in own for p in profiles)


def _depends_on(service: Any) -> dict[str, bool]:
    """Dependency name -> required."""
    deps = service.get("depends_on") if isinstance(service, dict) else None
    if isinstance(deps, list):
        return {str(d): True for d in deps}
    if isinstance(deps, dict):
        return {k: not (isinstance(v, dict) and v.get("required") is False) for k, v in deps.items()}
    return {}


def apply_profiles(model: dict[str, Any], profiles: list[str], selected: list[str]) -> dict[str, Any]:
    """The model keeping only enabled (and, when `selected` is given, selected) services."""
    services: dict[str, Any] = model.get("services") or {}
    enabled = {n: s for n, s in services.items() if is_enabled(s, profiles)}
    if selected:
        extra = list(profiles)
        for name in selected:
            if name not in enabled and name in services:
                extra.extend(_profiles_of(services[name]))
        enabled = {n: s for n, s in services.items() if is_enabled(s, extra)}
        keep: set[str] = set()
        pending = list(selected)
        while pending:
            name = pending.pop()
            if name in keep:
                continue
            if name not in enabled:
                # not an invalid file: a wrong argument (exit 1, as the reference)
                raise ComposerError(f"no such service: {name}")
            keep.add(name)
            pending.extend(
                d for d, required in _depends_on(enabled[name]).items() if required or d in enabled
            )
        enabled = {n: _only_kept_deps(s, keep) for n, s in enabled.items() if n in keep}
    return {**model, "services": enabled}


def _only_kept_deps(service: Any, keep: set[str]) -> Any:
    deps = service.get("depends_on") if isinstance(service, dict) else None
    if isinstance(deps, list):
        return {**service, "depends_on": [d for d in deps if d in keep]}
    if isinstance(deps, dict):
        return {**service, "depends_on": {k: v for k, v in deps.items() if k in keep}}
    return service


def disabled_services(model: Mapping[str, Any], kept: Mapping[str, Any]) -> list[str]:
    return sorted(n for n in (model.get("services") or {}) if n not in kept)
