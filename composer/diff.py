"""Which Compose fields differ between a service's wanted container and an existing one (pure).

Used to explain a recreation in `up --dry-run`: "config hash changed: command, environment". The config
hash decides; this only names the fields, from the engine's inspect of the old container. Values the image
fills in (Env, Cmd defaults) are compared only where the service sets them.
"""

from __future__ import annotations

from collections.abc import Mapping

from composer import labels as L
from composer._typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


def _env(items: list[str] | None) -> dict[str, str]:
    return dict(item.partition("=")[::2] for item in items or [])


def changed_fields(wanted: Mapping[str, Any], inspect: Mapping[str, Any]) -> list[str]:
    """Compose field names whose value in `wanted` (a create body) differs from `inspect`."""
    config = inspect.get("Config") or {}
    host = inspect.get("HostConfig") or {}
    whost = wanted.get("HostConfig") or {}
    fields: list[str] = []

    def check(name: str, ours: Any, theirs: Any) -> None:
        if ours != theirs and name not in fields:
            fields.append(name)

    check("image", wanted.get("Image"), config.get("Image"))
    if "Cmd" in wanted:
        check("command", wanted["Cmd"], config.get("Cmd"))
    if "Entrypoint" in wanted:
        check("entrypoint", wanted["Entrypoint"], config.get("Entrypoint"))
    ours_env, theirs_env = _env(wanted.get("Env")), _env(config.get("Env"))
    check("environment", ours_env, {k: v for k, v in theirs_env.items() if k in ours_env})
    ours_labels = {k: v for k, v in (wanted.get("Labels") or {}).items() if not k.startswith(L.PREFIX)}
    theirs_labels = {k: v for k, v in (config.get("Labels") or {}).items() if not k.startswith(L.PREFIX)}
    check("labels", ours_labels, {k: v for k, v in theirs_labels.items() if k in ours_labels})
    check("ports", whost.get("PortBindings") or {}, host.get("PortBindings") or {})
    check("volumes", sorted(whost.get("Binds") or []), sorted(host.get("Binds") or []))
    check("volumes", _mounts(whost.get("Mounts")), _mounts(host.get("Mounts")))
    if "Healthcheck" in wanted:
        check("healthcheck", wanted["Healthcheck"], config.get("Healthcheck"))
    check(
        "restart",
        (whost.get("RestartPolicy") or {}).get("Name", "no"),
        (host.get("RestartPolicy") or {}).get("Name", "no"),
    )
    for key, name in (("User", "user"), ("WorkingDir", "working_dir"), ("StopSignal", "stop_signal")):
        if key in wanted:
            check(name, wanted[key], config.get(key))
    for key, name in (("Tty", "tty"), ("OpenStdin", "stdin_open")):
        check(name, bool(wanted.get(key)), bool(config.get(key)))
    for key, name in (("Privileged", "privileged"), ("ReadonlyRootfs", "read_only"), ("Init", "init")):
        check(name, bool(whost.get(key)), bool(host.get(key)))
    return fields


def _mounts(mounts: list[dict[str, Any]] | None) -> list[tuple[str, str, str, bool]]:
    return sorted(
        (str(m.get("Type")), str(m.get("Source") or ""), str(m.get("Target")), bool(m.get("ReadOnly")))
        for m in mounts or []
    )
