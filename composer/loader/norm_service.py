"""One service from the user's spellings to the canonical long form (without resource checks).

`normalize_service` walks the service once, dispatching each key through `_STEPS` (or the scalar
tables); structured sections live in norm_sections.py, shared helpers in norm_values.py. Paths that
end up in the output (build context, bind sources, develop.watch) are resolved against the project
directory; files the loader reads itself (env_file, extends, include) are resolved by the loader.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from composer.canonical.units import (
    UnitError,
    canonical_bytes,
    canonical_duration,
    to_bool,
    to_float,
    to_int,
)
from composer.loader import norm_devices, norm_sections
from composer.loader.norm_devices import DeviceError
from composer.loader.norm_ports import PortError, normalize_ports
from composer.loader.norm_values import (
    BYTES_KEYS,
    CONTAINER_PREFIX,
    SERVICE_PREFIX,
    FieldError,
    ServiceContext,
    each,
    extra_hosts,
    file_refs,
    split_command,
    string_list,
    to_mapping,
)
from composer.loader.norm_volumes import VolumeError, normalize_volume, resolve_host_path

_BYTES = BYTES_KEYS
_INTS = (
    "cpu_count",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "oom_score_adj",
    "pids_limit",
    "scale",
)
_FLOATS = ("cpus", "cpu_percent")
_BOOLS = (
    "attach",
    "init",
    "oom_kill_disable",
    "privileged",
    "read_only",
    "stdin_open",
    "tty",
    "use_api_socket",
)
_STRING_LISTS = ("dns", "dns_search", "tmpfs", "env_file", "label_file")

_Step = Callable[[Any, ServiceContext], Any]
_STEPS: dict[str, _Step] = {
    "build": norm_sections.build,
    "command": lambda v, _c: split_command(v),
    "entrypoint": lambda v, _c: split_command(v),
    "environment": lambda v, c: to_mapping(v, empty=None, env=c.environment),
    "labels": lambda v, _c: to_mapping(v, empty="", env=None),
    "annotations": lambda v, _c: to_mapping(v, empty="", env=None),
    "sysctls": lambda v, _c: to_mapping(v, empty="", env=None),
    "extra_hosts": lambda v, _c: extra_hosts(v),
    "expose": lambda v, _c: string_list(v),
    "healthcheck": lambda v, _c: norm_sections.healthcheck(v),
    "deploy": lambda v, _c: norm_sections.deploy(v),
    "networks": lambda v, _c: norm_sections.networks(v),
    "ports": lambda v, _c: each(v, lambda item: normalize_ports([item])),
    "secrets": lambda v, _c: file_refs(v, secret=True),
    "configs": lambda v, _c: file_refs(v, secret=False),
    "ulimits": lambda v, _c: norm_devices.ulimits(v),
    "stop_grace_period": lambda v, _c: canonical_duration(v),
    "develop": norm_sections.develop,
    "volumes": lambda v, c: each(v, lambda item: [normalize_volume(item, c.project_dir, c.home)]),
    "pull_policy": lambda v, _c: "missing" if v == "if_not_present" else v,
    "models": lambda v, _c: norm_sections.networks(v),  # same shapes: a list of names or a map
    "devices": lambda v, _c: each(v, lambda item: norm_devices.devices([item])),
    "gpus": lambda v, _c: norm_devices.gpus(v),
    "blkio_config": lambda v, _c: norm_devices.blkio(v),
    "group_add": lambda v, _c: string_list(v),
    "logging": lambda v, _c: norm_sections.logging_options(v),
    "provider": lambda v, _c: norm_sections.provider(v),
    "post_start": lambda v, _c: [norm_sections.hook(h) for h in v],
    "pre_stop": lambda v, _c: [norm_sections.hook(h) for h in v],
}


def _depends_on(value: Any) -> dict[str, dict[str, Any]]:
    if isinstance(value, list):
        return {str(name): {"condition": "service_started", "required": True} for name in value}
    result = {}
    for name, dep in value.items():
        dep = dict(dep or {})
        dep.setdefault("condition", "service_started")
        dep["required"] = to_bool(dep.get("required", True))
        if "restart" in dep:
            dep["restart"] = to_bool(dep["restart"])
            if not dep["restart"]:
                del dep["restart"]  # omitted when false, like the reference
        result[name] = dep
    return result


def _implicit_dependencies(service: dict[str, Any], depends: dict[str, dict[str, Any]]) -> None:
    """links, `service:x` namespaces and volumes_from imply depends_on, as in the reference."""
    for link in service.get("links") or []:
        name = str(link).split(":")[0] if str(link).count(":") == 1 else str(link)
        depends.setdefault(name, {"condition": "service_started", "restart": True, "required": True})
    for key in ("network_mode", "ipc", "pid", "uts", "cgroup"):
        ref = service.get(key)
        if isinstance(ref, str) and ref.startswith(SERVICE_PREFIX):
            depends.setdefault(
                ref[len(SERVICE_PREFIX) :],
                {"condition": "service_started", "restart": True, "required": True},
            )
    for ref in service.get("volumes_from") or []:
        if not str(ref).startswith(CONTAINER_PREFIX):
            depends.setdefault(str(ref).split(":")[0], {"condition": "service_started", "required": True})


# Accepted by the reference's schema but absent from its model: never printed.
_DROPPED = ("pull_refresh_after",)


def normalize_service(raw: Mapping[str, Any], ctx: ServiceContext) -> dict[str, Any]:
    service: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _DROPPED:
            continue
        try:
            service[key] = _normalize_field(key, value, ctx)
        except FieldError as exc:
            raise FieldError((key, *exc.path), exc.message) from exc
        except (UnitError, PortError, VolumeError, DeviceError, TypeError, AttributeError) as exc:
            raise FieldError((key,), str(exc)) from exc
    label_files = service.pop("label_file", None)
    if label_files:
        try:
            paths = [resolve_host_path(str(p), ctx.project_dir, ctx.home) for p in label_files]
            from_files = norm_devices.read_label_files(paths)
        except DeviceError as exc:
            raise FieldError(("label_file",), str(exc)) from exc
        service["labels"] = {**from_files, **(service.get("labels") or {})}
    depends = _depends_on(service.pop("depends_on", []) or [])
    _implicit_dependencies(service, depends)
    if depends:
        service["depends_on"] = depends
    service.setdefault("command", None)
    service.setdefault("entrypoint", None)
    return service


def _normalize_field(key: str, value: Any, ctx: ServiceContext) -> Any:
    if key.startswith("x-") or value is None:
        return value
    step = _STEPS.get(key)
    if step is not None:
        return step(value, ctx)
    if key in _BYTES:
        return canonical_bytes(value)
    if key in _INTS:
        return to_int(value)
    if key in _FLOATS:
        return to_float(value)
    if key in _BOOLS:
        return to_bool(value)
    if key in _STRING_LISTS:
        return string_list(value)
    return value
