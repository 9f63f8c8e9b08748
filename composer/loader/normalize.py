"""From the merged, interpolated project dict (the user's spellings) to the canonical long form.

The canonical form is exactly what `docker compose config --format json` prints: every short syntax
expanded, defaults filled in (implicit `default` network, resource names with the project prefix,
`command`/`entrypoint` null when unset), unused top-level resources dropped, keys in the reference's
order. Service-level `x-*` extensions stay in the dict (the YAML rendering shows them); `json_view`
drops them as the reference's JSON does.

Path resolution split with the loader: the loader resolves the paths of files it reads itself
(env_file, extends.file, include); this module resolves every path that stays in the output
(build.context, bind-mount sources, secrets/configs `file`, develop.watch paths).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from composer.canonical.order import order_project, without_extensions
from composer.canonical.order import yaml_view as _yaml_view
from composer.canonical.units import UnitError, scalar_str, to_bool
from composer.errors import ConfigError, Location
from composer.loader.norm_consistency import check_file_source
from composer.loader.norm_marks import alias_marks
from composer.loader.norm_service import normalize_service
from composer.loader.norm_values import FieldError, ServiceContext, drop_empty_values, home_dir, to_mapping
from composer.loader.norm_volumes import resolve_host_path
from composer.loader.pathtable import copy_tree
from composer.loader.validate import _fail as fail
from composer.loader.validate import format_key_path, locate

log = logging.getLogger(__name__)

RESOURCE_KINDS = ("networks", "volumes", "secrets", "configs")


@dataclass(frozen=True)
class NormalizeContext:
    """What normalization needs besides the dict: the project's identity and environment.

    `marks` (key path -> Location) gains the canonical spellings of list entries (see norm_marks).
    """

    project_name: str
    project_dir: str
    environment: Mapping[str, str] = field(default_factory=dict)
    marks: Mapping[tuple[Any, ...], Location] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # appended to; the CLI shows them


def normalize(data: dict[str, Any], ctx: NormalizeContext) -> dict[str, Any]:
    """Return the canonical project dict; `data` is not modified. Raises ConfigError."""
    project = copy_tree(data)
    project.pop("version", None)  # obsolete; the reference only warns about it
    project.pop("include", None)  # resolved by the loader before we get here
    project["name"] = ctx.project_name
    svc_ctx = ServiceContext(ctx.project_dir, ctx.environment, home_dir(ctx.environment))
    services: dict[str, Any] = {}
    for name, raw in (project.get("services") or {}).items():
        alias_marks(ctx.marks, name, raw or {})
        try:
            service = normalize_service(raw or {}, svc_ctx)
        except FieldError as exc:
            path = ("services", name, *exc.path)
            raise ConfigError(
                exc.message, location=locate(ctx.marks, path), key_path=format_key_path(path)
            ) from exc
        drop_empty_values(service)
        _attach_default_network(service)
        services[name] = service
    project["services"] = services
    for kind in RESOURCE_KINDS:
        resources = project.get(kind) or {}
        if kind == "networks" and _uses_default_network(services):
            resources.setdefault("default", None)
        normalized = {key: _resource(kind, key, value, ctx) for key, value in resources.items()}
        used = _used_resources(kind, services)
        kept = {key: value for key, value in normalized.items() if key in used}
        if kept:
            project[kind] = kept
        else:
            project.pop(kind, None)
    used_models = {m for s in services.values() for m in s.get("models") or {}}
    models = {k: v for k, v in (project.get("models") or {}).items() if k in used_models}
    if models:
        project["models"] = models
    else:
        project.pop("models", None)
    return order_project(project)


def _attach_default_network(service: dict[str, Any]) -> None:
    if "network_mode" in service or "provider" in service:
        return
    if not service.get("networks"):
        service["networks"] = {"default": None}


def _uses_default_network(services: Mapping[str, Any]) -> bool:
    return any("default" in (s.get("networks") or {}) for s in services.values())


def _resource(kind: str, key: str, value: Any, ctx: NormalizeContext) -> dict[str, Any]:
    resource = dict(value or {})
    path = (kind, key)
    try:
        external = resource.get("external")
        if isinstance(external, dict):
            resource["external"] = True
            legacy = external.get("name")
            if legacy is not None and resource.get("name") not in (None, legacy):
                raise UnitError("name and external.name conflict; only use name")
            if legacy is not None:
                where = format_key_path(path)
                ctx.warnings.append(
                    f"{where}: external.name is deprecated. Please set name and external: true"
                )
                resource["name"] = legacy
        elif external is not None:
            resource["external"] = to_bool(external)
            if not resource["external"]:
                del resource["external"]
        for bool_key in ("internal", "attachable", "enable_ipv4", "enable_ipv6"):
            if bool_key in resource:
                resource[bool_key] = to_bool(resource[bool_key])
                if not resource[bool_key] and bool_key in ("internal", "attachable"):
                    del resource[bool_key]
    except UnitError as exc:
        raise ConfigError(str(exc), location=locate(ctx.marks, path), key_path=format_key_path(path)) from exc
    if kind == "volumes" and resource.get("external"):
        for param in ("driver", "driver_opts", "labels"):
            if resource.get(param):
                raise ConfigError(
                    f'conflicting parameters "external" and "{param}" specified',
                    location=locate(ctx.marks, (*path, param)),
                    key_path=format_key_path(path),
                )
    check_file_source(kind, key, resource, ctx.marks, fail)
    if resource.get("name") == "":
        del resource["name"]  # the reference omits an empty name (and does not default it)
    elif resource.get("name") is None:
        resource["name"] = key if resource.get("external") else f"{ctx.project_name}_{key}"
    if "labels" in resource:
        resource["labels"] = to_mapping(resource["labels"], empty="", env=None)
    if isinstance(resource.get("driver_opts"), dict):
        resource["driver_opts"] = {k: scalar_str(v) for k, v in resource["driver_opts"].items()}
        opts = resource["driver_opts"]
        if (
            kind == "volumes"
            and resource.get("driver") == "local"
            and opts.get("o") == "bind"
            and "device" in opts
        ):
            # a bind-mounted local volume's device is a host path: the reference makes it absolute (only
            # for exactly this spelling: an explicit local driver and `o: bind`)
            device = opts["device"]
            home = home_dir(ctx.environment)
            opts["device"] = resolve_host_path(device, ctx.project_dir, home) if device else ctx.project_dir
    if kind == "networks":
        ipam = dict(resource.get("ipam") or {})
        # The reference (compose-go 2.9) accepts ipam.options but its model has no such field.
        ipam.pop("options", None)
        resource["ipam"] = ipam
    if kind in ("secrets", "configs") and resource.get("file"):
        home = home_dir(ctx.environment)
        resource["file"] = resolve_host_path(str(resource["file"]), ctx.project_dir, home)
    return resource


def _used_resources(kind: str, services: Mapping[str, Any]) -> set[str]:
    used: set[str] = set()
    for service in services.values():
        if kind == "networks":
            used.update(service.get("networks") or {})
        elif kind == "volumes":
            used.update(
                m["source"]
                for m in service.get("volumes") or []
                if m.get("type") == "volume" and m.get("source")
            )
        elif kind == "secrets":
            used.update(ref["source"] for ref in service.get("secrets") or [])
            used.update(ref["source"] for ref in (service.get("build") or {}).get("secrets") or [])
        else:
            used.update(ref["source"] for ref in service.get("configs") or [])
    return used


def json_view(canonical: dict[str, Any]) -> dict[str, Any]:
    """The canonical dict as the reference's JSON shows it: `x-*` kept only at the top level, and no
    top-level `models` (its JSON omits them; its YAML prints them)."""
    view = without_extensions(canonical)
    view.pop("models", None)
    return view


def yaml_view(canonical: dict[str, Any]) -> dict[str, Any]:
    """The canonical dict as the reference's YAML shows it (see composer.canonical.order.yaml_view)."""
    return _yaml_view(canonical)
