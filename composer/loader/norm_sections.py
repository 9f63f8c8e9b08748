"""Service sections with a structure of their own: build, healthcheck, deploy, develop, logging, hooks,
networks. Paths that stay in the output (build context, additional contexts, watch paths) are resolved
here against the project directory."""

from __future__ import annotations

import re
from typing import Any

from composer.canonical.order import order_struct
from composer.canonical.units import (
    UnitError,
    canonical_bytes,
    canonical_duration,
    scalar_str,
    to_bool,
    to_float,
    to_int,
)
from composer.loader import norm_devices
from composer.loader.norm_values import (
    FieldError,
    ServiceContext,
    build_args,
    convert,
    drop_empty_values,
    extra_hosts,
    file_refs,
    split_command,
    to_mapping,
    within,
)
from composer.loader.norm_volumes import resolve_host_path

_REMOTE_CONTEXT = re.compile(r"^([a-z][a-z0-9+.-]*://|git@|github\.com/|service:)", re.IGNORECASE)


def build(value: Any, ctx: ServiceContext) -> dict[str, Any]:
    build: dict[str, Any] = {"context": value} if isinstance(value, str) else dict(value)
    context = str(build.get("context") or ".")
    if not _REMOTE_CONTEXT.match(context):
        context = resolve_host_path(context, ctx.project_dir, ctx.home)
    build["context"] = context
    if build.get("dockerfile") is None and build.get("dockerfile_inline") is None:
        build["dockerfile"] = "Dockerfile"
    if "args" in build:
        build["args"] = build_args(build["args"], ctx.environment)
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
        build["secrets"] = file_refs(build["secrets"], secret=True, default_target=False)
    if "ulimits" in build:
        build["ulimits"] = norm_devices.ulimits(build["ulimits"])
    for key in ("provenance", "sbom"):
        if key in build:
            build[key] = scalar_str(build[key])  # a boolean is kept as its string
    for key in ("no_cache", "pull", "privileged"):
        if key in build:
            build[key] = to_bool(build[key])
    for key in ("tags", "cache_from", "cache_to", "platforms"):
        if isinstance(build.get(key), str):
            build[key] = [build[key]]
    if "ssh" in build:
        build["ssh"] = ssh_keys(build["ssh"], ctx.project_dir, ctx.home)
    drop_empty_values(build, keep=())
    return build


def ssh_keys(value: Any, project_dir: str, home: str) -> list[str]:
    """build.ssh as the reference prints it: `id` alone, or `id: <path>` with the path absolute against
    the project directory (an empty one is the project directory itself); a later entry with the same id
    replaces an earlier one in its place. Entries already in that form (our own output) stay as they are."""
    keys: dict[str, str | None] = {}
    if isinstance(value, dict):
        for key, path in value.items():
            keys[str(key)] = None if path is None else str(path)
    else:
        for item in [value] if isinstance(value, str) else value:
            key, sep, path = str(item).partition("=")
            keys[key] = path if sep else None
    out = []
    for key, path in keys.items():
        if path is None:
            out.append(key)
        else:
            out.append(f"{key}: {resolve_host_path(path, project_dir, home) if path else project_dir}")
    return out


def provider(value: dict[str, Any]) -> dict[str, Any]:
    """provider.options values are lists of strings (a scalar is a one-item list), as in the reference."""
    out = dict(value)
    options = out.get("options")
    if isinstance(options, dict):
        out["options"] = {
            str(k): [scalar_str(i) for i in (v if isinstance(v, list) else [v])] for k, v in options.items()
        }
    return out


def healthcheck(value: dict[str, Any]) -> dict[str, Any]:
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


def resource(value: dict[str, Any]) -> dict[str, Any]:
    res = dict(value)
    convert(res, "cpus", to_float)
    convert(res, "memory", canonical_bytes)
    convert(res, "pids", to_int)
    convert(res, "devices", lambda devices: [norm_devices.device_request(d) for d in devices])
    return res


def update_config(value: dict[str, Any]) -> dict[str, Any]:
    update = dict(value)
    for key in ("delay", "monitor"):
        convert(update, key, canonical_duration)
    convert(update, "parallelism", to_int)
    return update


def restart_policy(value: dict[str, Any]) -> dict[str, Any]:
    policy = dict(value)
    for key in ("delay", "window"):
        convert(policy, key, canonical_duration)
    convert(policy, "max_attempts", to_int)
    return policy


def deploy(value: dict[str, Any]) -> dict[str, Any]:
    deploy = dict(value)
    convert(deploy, "replicas", to_int)
    if "labels" in deploy:
        deploy["labels"] = to_mapping(deploy["labels"], empty="", env=None)
    resources = dict(deploy.get("resources") or {})
    for key in ("limits", "reservations"):
        if resources.get(key) is not None:
            resources[key] = within(("resources", key), resource, resources[key])
    deploy["resources"] = resources
    for key in ("update_config", "rollback_config"):
        if deploy.get(key) is not None:
            deploy[key] = within((key,), update_config, deploy[key])
    if deploy.get("restart_policy") is not None:
        deploy["restart_policy"] = within(("restart_policy",), restart_policy, deploy["restart_policy"])
    deploy["placement"] = dict(deploy.get("placement") or {})
    return deploy


def networks(value: Any) -> dict[str, Any]:
    if isinstance(value, list):
        return {str(name): None for name in value}
    result: dict[str, Any] = {}
    for name, cfg in value.items():
        if isinstance(cfg, dict):
            cfg = dict(cfg)
            for key in ("priority", "gw_priority"):
                if key in cfg:
                    cfg[key] = to_int(cfg[key])
            if isinstance(cfg.get("driver_opts"), dict):
                cfg["driver_opts"] = {k: scalar_str(v) for k, v in cfg["driver_opts"].items()}
            drop_empty_values(cfg, keep=())
        result[name] = cfg
    return result


def develop(value: dict[str, Any], ctx: ServiceContext) -> dict[str, Any]:
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


def logging_options(value: dict[str, Any]) -> dict[str, Any]:
    logging = dict(value)
    if isinstance(logging.get("options"), dict):
        logging["options"] = {k: None if v is None else scalar_str(v) for k, v in logging["options"].items()}
    return logging


def hook(value: dict[str, Any]) -> dict[str, Any]:
    hook = dict(value)
    hook["command"] = split_command(hook.get("command"))
    if "environment" in hook:
        hook["environment"] = to_mapping(hook["environment"], empty=None, env=None)
    return hook
