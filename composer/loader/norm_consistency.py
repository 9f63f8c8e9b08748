"""Consistency checks of a canonical project, as the reference makes them after loading.

Each check raises through `fail(marks, key_path, message)`; messages keep the reference's wording.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from composer.canonical.units import parse_bytes, to_float
from composer.errors import ConfigError, Location

Fail = Callable[..., ConfigError]  # (marks, key path, message, hint=None)


def _hint(
    word: Any, kind: str, project: Mapping[str, Any], marks: Mapping[tuple[Any, ...], Location]
) -> str | None:
    """Suggest a declared name; unused declarations are gone from the canonical form but not from marks."""
    from composer.loader.hints import did_you_mean

    declared = set(project.get(kind) or {})
    declared.update(str(path[1]) for path in marks if len(path) == 2 and path[0] == kind)
    return did_you_mean(str(word), sorted(declared))


def check_services(project: Mapping[str, Any], marks: Mapping[tuple[Any, ...], Location], fail: Fail) -> None:
    services: Mapping[str, Any] = project.get("services") or {}
    for name in sorted(services):
        service = services[name]
        here = ("services", name)
        _check_service(project, name, service, here, marks, fail)


def _check_service(
    project: Mapping[str, Any],
    name: str,
    service: Mapping[str, Any],
    here: tuple[Any, ...],
    marks: Mapping[tuple[Any, ...], Location],
    fail: Fail,
) -> None:
    services = project.get("services") or {}
    build = service.get("build")
    if build is None and not service.get("image") and "provider" not in service:
        raise fail(marks, here, f'service "{name}" has neither an image nor a build context specified')
    if (
        build is not None
        and build.get("dockerfile_inline")
        and build.get("dockerfile") not in (None, "Dockerfile")
    ):
        raise fail(
            marks,
            (*here, "build"),
            f'service "{name}" declares mutualy exclusive dockerfile and dockerfile_inline',
        )
    if build is not None:
        _check_build(name, build, services, here, marks, fail, service.get("platform"))
    networks = service.get("networks") or {}
    if service.get("network_mode") and networks:
        raise fail(
            marks,
            (*here, "network_mode"),
            f"service {name} declares mutually exclusive `network_mode` and `networks`",
        )
    for net in networks:
        if net not in (project.get("networks") or {}):
            raise fail(
                marks,
                (*here, "networks", net),
                f'service "{name}" refers to undefined network {net}',
                _hint(net, "networks", project, marks),
            )
    test = (service.get("healthcheck") or {}).get("test")
    if test and test[0] not in ("CMD", "CMD-SHELL", "NONE"):
        raise fail(
            marks,
            (*here, "healthcheck", "test"),
            'healthcheck.test must start either by "CMD", "CMD-SHELL" or "NONE"',
        )
    for dep, cfg in (service.get("depends_on") or {}).items():
        # an optional dependency may name a service the profiles disabled (it was declared: it has
        # a mark), never one that does not exist at all
        disabled = ("services", dep) in marks
        if dep not in services and (cfg.get("required", True) or not disabled):
            raise fail(
                marks,
                (*here, "depends_on", dep),
                f'service "{name}" depends on undefined service "{dep}"',
                _hint(dep, "services", project, marks),
            )
    mode = service.get("network_mode") or ""
    if mode.startswith("service:") and mode[len("service:") :] not in services:
        other = mode[len("service:") :]
        raise fail(
            marks,
            (*here, "network_mode"),
            f"service \"{other}\" not found for network_mode 'service:{other}'",
        )
    _check_references(project, name, service, here, marks, fail)
    for model in service.get("models") or {}:
        if model not in (project.get("models") or {}):
            raise fail(
                marks,
                (*here, "models", model),
                f'service "{name}" refers to undefined model {model}',
                _hint(model, "models", project, marks),
            )
    _check_limits(name, service, here, marks, fail)
    _check_mounts(service, here, marks, fail)
    for watch in (service.get("develop") or {}).get("watch") or []:
        if not watch.get("target") and watch.get("action") not in ("rebuild", "restart"):
            raise fail(
                marks,
                (*here, "develop", "watch"),
                "target is required for non-rebuild actions",
            )


def _check_build(
    name: str,
    build: Mapping[str, Any],
    services: Mapping[str, Any],
    here: tuple[Any, ...],
    marks: Mapping[tuple[Any, ...], Location],
    fail: Fail,
    platform: str | None,
) -> None:
    for context_name, context in (build.get("additional_contexts") or {}).items():
        if not str(context).startswith("service:"):
            continue
        target = str(context)[len("service:") :]
        where = (*here, "build", "additional_contexts", context_name)
        if target not in services:
            raise fail(
                marks,
                where,
                f'service "{name}" declares unknown service "{target}" as additional contexts {context_name}',
            )
        if services[target].get("build") is None:
            raise fail(
                marks,
                where,
                f'service "{name}" declares non-buildable service "{target}" '
                f"as additional contexts {context_name}",
            )
    platforms = build.get("platforms") or []
    if platforms and platform and platform not in platforms:
        raise fail(
            marks,
            (*here, "build", "platforms"),
            f'service.build.platforms MUST include service.platform "{platform}"',
        )


def _check_references(
    project: Mapping[str, Any],
    name: str,
    service: Mapping[str, Any],
    here: tuple[Any, ...],
    marks: Mapping[tuple[Any, ...], Location],
    fail: Fail,
) -> None:
    volumes = project.get("volumes") or {}
    for index, mount in enumerate(service.get("volumes") or []):
        if mount.get("type") == "volume" and mount.get("source") and mount["source"] not in volumes:
            raise fail(
                marks,
                (*here, "volumes", index),
                f'service "{name}" refers to undefined volume {mount["source"]}',
                _hint(mount["source"], "volumes", project, marks),
            )
    secrets = project.get("secrets") or {}
    for index, ref in enumerate((service.get("build") or {}).get("secrets") or []):
        if ref.get("source") not in secrets:
            raise fail(
                marks,
                (*here, "build", "secrets", index),
                f'service "{name}" refers to undefined build secret {ref.get("source")}',
                _hint(ref.get("source"), "secrets", project, marks),
            )
    configs = project.get("configs") or {}
    for index, ref in enumerate(service.get("configs") or []):
        if ref.get("source") not in configs:
            raise fail(
                marks,
                (*here, "configs", index),
                f'service "{name}" refers to undefined config {ref.get("source")}',
                _hint(ref.get("source"), "configs", project, marks),
            )
    for index, ref in enumerate(service.get("secrets") or []):
        if ref.get("source") not in secrets:
            raise fail(
                marks,
                (*here, "secrets", index),
                f'service "{name}" refers to undefined secret {ref.get("source")}',
                _hint(ref.get("source"), "secrets", project, marks),
            )


def _check_limits(
    name: str,
    service: Mapping[str, Any],
    here: tuple[Any, ...],
    marks: Mapping[tuple[Any, ...], Location],
    fail: Fail,
) -> None:
    deploy = service.get("deploy")
    scale = service.get("scale")
    replicas = (deploy or {}).get("replicas")
    if scale is not None and replicas is not None and scale != replicas:
        raise fail(
            marks,
            (*here, "scale"),
            "can't set distinct values on 'scale' and 'deploy.replicas'",
        )
    if scale is not None and scale < 0:
        raise fail(marks, (*here, "scale"), "must be greater than or equal to 0")
    if replicas is not None and replicas < 0:
        raise fail(
            marks,
            (*here, "deploy", "replicas"),
            "must be greater than or equal to 0",
        )
    limits = ((deploy or {}).get("resources") or {}).get("limits")
    reservations = ((deploy or {}).get("resources") or {}).get("reservations")
    pairs: list[tuple[str, Any, str, str, Callable[[Any], float | int]]] = [
        ("cpus", limits, "cpus", "deploy.resources.limits.cpus", lambda v: to_float(v or 0)),
        ("mem_limit", limits, "memory", "deploy.resources.limits.memory", lambda v: parse_bytes(v or 0)),
        (
            "mem_reservation",
            reservations,
            "memory",
            "deploy.resources.reservations.memory",
            lambda v: parse_bytes(v or 0),
        ),
        ("pids_limit", limits, "pids", "deploy.resources.limits.pids", lambda v: int(v or 0)),
    ]
    for key, section, sub, label, value in pairs:
        if (
            service.get(key)
            and deploy is not None
            and section is not None
            and value(section.get(sub)) != value(service[key])
        ):
            raise fail(marks, (*here, key), f"can't set distinct values on '{key}' and '{label}'")
    count = scale if scale is not None else (replicas if replicas is not None else 1)
    if count > 1 and service.get("container_name"):
        attr = "scale" if scale is not None else "deploy.replicas"
        raise fail(
            marks,
            (*here, "container_name"),
            f"can't set container_name and {attr} as container name must be unique",
        )


def _check_mounts(
    service: Mapping[str, Any], here: tuple[Any, ...], marks: Mapping[tuple[Any, ...], Location], fail: Fail
) -> None:
    mounted: dict[str, str] = {}
    name = here[1]
    for index, tmpfs in enumerate(service.get("tmpfs") or []):
        where = f"services.{name}.tmpfs[{index}]"
        target = str(tmpfs).split(":")[0]
        if target in mounted:
            raise fail(
                marks,
                (*here, "tmpfs", index),
                f"target {target} already mounted as {mounted[target]}",
            )
        mounted[target] = where
    for index, mount in enumerate(service.get("volumes") or []):
        where = f"services.{name}.volumes[{index}]"
        target = mount.get("target")
        if target in mounted:
            raise fail(
                marks,
                (*here, "volumes", index),
                f"target {target} already mounted as {mounted[target]}",
            )
        mounted[str(target)] = where


def check_top_level(
    project: Mapping[str, Any], marks: Mapping[tuple[Any, ...], Location], fail: Fail
) -> None:
    """Top-level checks that need the whole canonical project (none yet: secrets and configs are
    checked by `check_file_source` while normalizing, before unused ones are dropped)."""


def check_file_source(
    kind: str, name: str, resource: Mapping[str, Any], marks: Mapping[tuple[Any, ...], Location], fail: Fail
) -> None:
    """A secret or config takes its content from exactly one source, unless it is external."""
    if kind not in ("secrets", "configs") or resource.get("external"):
        return
    sources = ("file", "environment") if kind == "secrets" else ("file", "environment", "content")
    given = [s for s in sources if resource.get(s)]
    if len(given) > 1:
        raise fail(marks, (kind, name), f"{'|'.join(sources)} attributes are mutually exclusive")
    if not given:
        raise fail(marks, (kind, name), f"one of {'|'.join(sources)} must be set")
