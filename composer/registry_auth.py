"""Registry credentials for pull, push and build, read as the docker CLI stores them in config.json
(found and read by `composer.dockercli.config`): `auths` entries, or a credential helper (`credHelpers`
per registry, `credsStore` for all) run as `docker-credential-<name> get`. Sent as the X-Registry-Auth
header (X-Registry-Config for build).
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Mapping
from typing import Any

INDEX = "https://index.docker.io/v1/"  # the key Docker Hub's credentials are stored under


def registry_of(repository: str) -> str:
    """The registry host of a repository name (Docker Hub's index key when the name has none)."""
    first, sep, _ = repository.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return INDEX


def _config(environ: Mapping[str, str]) -> dict[str, Any]:
    """config.json where the docker CLI finds it for this environment (composer.dockercli.config)."""
    from composer.dockercli.config import load

    return load(environ)


def _from_helper(helper: str, registry: str) -> dict[str, str] | None:
    try:
        proc = subprocess.run(
            [f"docker-credential-{helper}", "get"], input=registry, capture_output=True, text=True, timeout=30
        )
        found = json.loads(proc.stdout) if proc.returncode == 0 else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    if not isinstance(found, dict):
        return None
    if found.get("Username") == "<token>":
        return {"identitytoken": str(found.get("Secret", "")), "serveraddress": registry}
    return {
        "username": str(found.get("Username", "")),
        "password": str(found.get("Secret", "")),
        "serveraddress": registry,
    }


def _entry(config: Mapping[str, Any], registry: str) -> dict[str, str] | None:
    helper = (config.get("credHelpers") or {}).get(registry) or config.get("credsStore")
    if helper:
        found = _from_helper(str(helper), registry)
        if found:
            return found
    auths = config.get("auths") or {}
    entry = auths.get(registry)
    if entry is None:  # stored with a scheme or path ("https://registry:5000/v2/")
        for key, value in auths.items():
            if key.split("://", 1)[-1].split("/", 1)[0] == registry:
                entry = value
                break
    if not isinstance(entry, dict):
        return None
    out: dict[str, str] = {"serveraddress": registry}
    if entry.get("identitytoken"):
        out["identitytoken"] = str(entry["identitytoken"])
    if entry.get("auth"):
        user, _, password = base64.b64decode(entry["auth"]).decode(errors="replace").partition(":")
        out.update(username=user, password=password)
    elif entry.get("username"):
        out.update(username=str(entry["username"]), password=str(entry.get("password", "")))
    return out if len(out) > 1 else None


def auth_header(repository: str, environ: Mapping[str, str]) -> dict[str, str]:
    """{"X-Registry-Auth": ...} for the repository's registry, or {} when no credentials are stored."""
    found = _entry(_config(environ), registry_of(repository))
    if found is None:
        return {}
    return {"X-Registry-Auth": base64.urlsafe_b64encode(json.dumps(found).encode()).decode()}


def build_auth_header(environ: Mapping[str, str]) -> dict[str, str]:
    """{"X-Registry-Config": ...} with every stored registry's credentials (a build may pull from any): the
    `auths` entries, the `credHelpers` registries, and what the `credsStore` helper lists."""
    config = _config(environ)
    registries = set(config.get("auths") or {}) | set(config.get("credHelpers") or {})
    if config.get("credsStore"):
        registries |= set(_listed(str(config["credsStore"])))
    found = {}
    for key in registries:
        entry = _entry(config, key.split("://", 1)[-1].split("/", 1)[0] if "://" in key else key)
        if entry:
            found[key] = entry
    if not found:
        return {}
    return {"X-Registry-Config": base64.urlsafe_b64encode(json.dumps(found).encode()).decode()}


def _listed(helper: str) -> list[str]:
    """The registries a credential helper holds (`docker-credential-<name> list`: {server: username})."""
    try:
        proc = subprocess.run(
            [f"docker-credential-{helper}", "list"], capture_output=True, text=True, timeout=30
        )
        listed = json.loads(proc.stdout) if proc.returncode == 0 else {}
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return []
    return [str(k) for k in listed] if isinstance(listed, dict) else []
