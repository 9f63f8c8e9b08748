"""One service from the user's spellings to the canonical long form (without resource checks).

Each `_field` function takes the raw value and returns the canonical one; `normalize_service` walks
the service once. Paths that end up in the output (build context, bind sources, develop.watch) are
resolved here against the project directory; files the loader reads itself (env_file, extends,
include) are resolved by the loader (see composer/loader/pipeline.py).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from composer.loader import norm_devices
from composer.loader.norm_devices import DeviceError
from composer.loader.norm_order import order_struct
from composer.loader.norm_ports import PortError, normalize_ports
from composer.loader.norm_units import (
    UnitError,
    canonical_bytes,
    canonical_duration,
    scalar_str,
    to_bool,
    to_float,
    to_int,
)
from composer.loader.norm_volumes import VolumeError, normalize_volume, resolve_host_path

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
    """Compose splits a string command shell-style (quotes honoured, no expansion)."""
    if value is None:
        return None
    if isinstance(value, list):
        return [scalar_str(v) for v in value]
    try:
        return shlex.split(str(value))
    except ValueError as exc:
        raise FieldError((), f"invalid command line {value!r}: {exc}") from exc


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


def _build_args(value: Any, env: Mapping[str, str]) -> dict[str, Any]:
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


def _string_list(value: Any) -> list[str]:
    return [scalar_str(value)] if not isinstance(value, list) else [scalar_str(v) for v in value]


def _file_refs(value: list[Any], *, secret: bool, default_target: bool = True) -> list[dict[str, Any]]:
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


_REMOTE_CONTEXT = re.compile(r"^([a-z][a-z0-9+.-]*://|git@|github\.com/|service:)", re.IGNORECASE)


def _build(value: Any, ctx: ServiceContext) -> dict[str, Any]:
    build: dict[str, Any] = {"context": value} if isinstance(value, str) else dict(value)
    context = str(build.get("context") or ".")
    if not _REMOTE_CONTEXT.match(context):
        context = resolve_host_path(context, ctx.project_dir, ctx.home)
    build["context"] = context
    if build.get("dockerfile") is None and build.get("dockerfile_inline") is None:
        build["dockerfile"] = "Dockerfile"
    if "args" in build:
        build["args"] = _build_args(build["args"], ctx.environment)
    if "labels" in build:
        build["labels"] = to_mapping(build["labels"], empty="", env=None)
    if "additional_contexts" in build:
        build["additional_contexts"] = {
            k: v if _REMOTE_CONTEXT.match(v) else resolve_host_path(v, ctx.project_dir, ctx.home)
            for k, v in to_mapping(build["additional_contexts"], empty="", env=None).items()
        }
    if "extra_hosts" in build:
        build["extra_hosts"] = extra_hosts(build["extra_hosts"])
    if "shm_size" in build:
        build["shm_size"] = canonical_bytes(build["shm_size"])
    if "secrets" in build:
        build["secrets"] = _file_refs(build["secrets"], secret=True, default_target=False)
    if "ulimits" in build:
        build["ulimits"] = norm_devices.ulimits(build["ulimits"])
    for key in ("provenance", "sbom"):
        if key in build:
            build[key] = scalar_str(build[key])  # a boolean is kept as its string
    for key in ("no_cache", "pull", "privileged"):
        if key in build:
            build[key] = to_bool(build[key])
    for key in ("tags", "cache_from", "cache_to", "platforms", "ssh"):
        if isinstance(build.get(key), str):
            build[key] = [build[key]]
    drop_empty_values(build, keep=())
    return build


def _healthcheck(value: dict[str, Any]) -> dict[str, Any]:
    check = dict(value)
    test = check.get("test")
    if isinstance(test, str):
        check["test"] = ["CMD-SHELL", test]
    elif isinstance(test, list):
        check["test"] = [scalar_str(t) for t in test]
    for key in ("interval", "timeout", "start_period", "start_interval"):
        if check.get(key) is not None:
            try:
                check[key] = canonical_duration(check[key])
            except UnitError as exc:
                raise FieldError((key,), str(exc)) from exc
    if "retries" in check and check["retries"] is not None:
        check["retries"] = to_int(check["retries"])
    if "disable" in check:
        check["disable"] = to_bool(check["disable"])
        if not check["disable"]:
            del check["disable"]
    return check


def _resource(value: dict[str, Any]) -> dict[str, Any]:
    res = dict(value)
    if "cpus" in res:
        res["cpus"] = to_float(res["cpus"])
    if "memory" in res:
        res["memory"] = canonical_bytes(res["memory"])
    if "pids" in res:
        res["pids"] = to_int(res["pids"])
    if "devices" in res:
        res["devices"] = [norm_devices.device_request(d) for d in res["devices"]]
    return res


def _deploy(value: dict[str, Any]) -> dict[str, Any]:
    deploy = dict(value)
    if "replicas" in deploy and deploy["replicas"] is not None:
        deploy["replicas"] = to_int(deploy["replicas"])
    if "labels" in deploy:
        deploy["labels"] = to_mapping(deploy["labels"], empty="", env=None)
    resources = dict(deploy.get("resources") or {})
    for key in ("limits", "reservations"):
        if resources.get(key) is not None:
            resources[key] = _resource(resources[key])
    deploy["resources"] = resources
    for key in ("update_config", "rollback_config"):
        if deploy.get(key) is not None:
            update = dict(deploy[key])
            for dkey in ("delay", "monitor"):
                if dkey in update:
                    update[dkey] = canonical_duration(update[dkey])
            deploy[key] = update
    if deploy.get("restart_policy") is not None:
        policy = dict(deploy["restart_policy"])
        for dkey in ("delay", "window"):
            if dkey in policy:
                policy[dkey] = canonical_duration(policy[dkey])
        if "max_attempts" in policy:
            policy["max_attempts"] = to_int(policy["max_attempts"])
        deploy["restart_policy"] = policy
    deploy["placement"] = dict(deploy.get("placement") or {})
    return deploy


def _networks(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        return {str(name): None for name in value}
    result: dict[str, Any] = {}
    for name, cfg in value.items():
        if isinstance(cfg, dict):
            cfg = dict(cfg)
            for key in ("priority", "gw_priority"):
                if key in cfg:
                    cfg[key] = to_int(cfg[key])
            drop_empty_values(cfg, keep=())
        result[name] = cfg
    return result


def _develop(value: dict[str, Any], ctx: ServiceContext) -> dict[str, Any]:
    develop = dict(value)
    watches = []
    for item in develop.get("watch") or []:
        watch = dict(item)
        if "path" in watch:
            watch["path"] = resolve_host_path(str(watch["path"]), ctx.project_dir, ctx.home)
        for key in ("ignore", "include"):
            if isinstance(watch.get(key), str):
                watch[key] = [watch[key]]
        hook = dict(watch.get("exec") or {})
        hook["command"] = split_command(hook.get("command"))
        watch["exec"] = order_struct(hook, "hook")
        watches.append(watch)
    if "watch" in develop:
        develop["watch"] = watches
    return develop


_BYTES = ("mem_limit", "mem_reservation", "memswap_limit", "mem_swappiness", "shm_size")
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
    "build": _build,
    "command": lambda v, _c: split_command(v),
    "entrypoint": lambda v, _c: split_command(v),
    "environment": lambda v, c: to_mapping(v, empty=None, env=c.environment),
    "labels": lambda v, _c: to_mapping(v, empty="", env=None),
    "annotations": lambda v, _c: to_mapping(v, empty="", env=None),
    "sysctls": lambda v, _c: to_mapping(v, empty="", env=None),
    "extra_hosts": lambda v, _c: extra_hosts(v),
    "expose": lambda v, _c: _string_list(v),
    "healthcheck": lambda v, _c: _healthcheck(v),
    "deploy": lambda v, _c: _deploy(v),
    "networks": lambda v, _c: _networks(v),
    "ports": lambda v, _c: _each(v, lambda item: normalize_ports([item])),
    "secrets": lambda v, _c: _file_refs(v, secret=True),
    "configs": lambda v, _c: _file_refs(v, secret=False),
    "ulimits": lambda v, _c: norm_devices.ulimits(v),
    "stop_grace_period": lambda v, _c: canonical_duration(v),
    "develop": _develop,
    "volumes": lambda v, c: _each(v, lambda item: [normalize_volume(item, c.project_dir, c.home)]),
    "pull_policy": lambda v, _c: "missing" if v == "if_not_present" else v,
    "devices": lambda v, _c: norm_devices.devices(v),
    "gpus": lambda v, _c: norm_devices.gpus(v),
    "blkio_config": lambda v, _c: norm_devices.blkio(v),
    "group_add": lambda v, _c: _string_list(v),
    "logging": lambda v, _c: _logging(v),
    "post_start": lambda v, _c: [_hook(h) for h in v],
    "pre_stop": lambda v, _c: [_hook(h) for h in v],
    "pre_start": lambda v, _c: [_hook(h) for h in v],
}


def _each(items: list[Any], step: Callable[[Any], list[Any]]) -> list[Any]:
    """Apply `step` to every item, naming the item's index when it fails."""
    result: list[Any] = []
    for index, item in enumerate(items):
        try:
            result.extend(step(item))
        except (UnitError, PortError, VolumeError, TypeError, AttributeError) as exc:
            raise FieldError((index,), str(exc)) from exc
    return result


def _logging(value: dict[str, Any]) -> dict[str, Any]:
    logging = dict(value)
    if isinstance(logging.get("options"), dict):
        logging["options"] = {k: None if v is None else scalar_str(v) for k, v in logging["options"].items()}
    return logging


def _hook(value: dict[str, Any]) -> dict[str, Any]:
    hook = dict(value)
    hook["command"] = split_command(hook.get("command"))
    if "environment" in hook:
        hook["environment"] = to_mapping(hook["environment"], empty=None, env=None)
    return hook


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


def normalize_service(raw: Mapping[str, Any], ctx: ServiceContext) -> dict[str, Any]:
    service: dict[str, Any] = {}
    for key, value in raw.items():
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
        return _string_list(value)
    return value


# Pointer fields in the reference's model: a zero value is still printed.
_KEEP_ZERO = ("scale", "attach", "init", "command", "entrypoint")


def drop_empty_values(service: dict[str, Any], keep: tuple[str, ...] = _KEEP_ZERO) -> None:
    """Drop what the reference omits as empty: false, 0, "", [] and {} (Go's omitempty)."""
    for key in list(service):
        value = service[key]
        if key in keep or key.startswith("x-"):
            continue
        empty = value is None or value is False or (not isinstance(value, bool) and value in (0, "", [], {}))
        if empty or (key in _BYTES and value == "0"):
            del service[key]


def home_dir(environment: Mapping[str, str]) -> str:
    return environment.get("HOME") or os.path.expanduser("~")


__all__ = [
    "FieldError",
    "ServiceContext",
    "normalize_service",
    "split_command",
    "to_mapping",
    "extra_hosts",
    "drop_empty_values",
    "home_dir",
]
