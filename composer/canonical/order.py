"""Key order of the canonical form: Compose prints structs in field order and maps sorted by key.

The order matters beyond looks: `com.docker.compose.config-hash` is the sha256 of a service's JSON,
so our key order must equal the reference's field order byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence

from composer._typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

_FIELDS: dict[str, Sequence[str]] = {
    "service": [
        "profiles",
        "annotations",
        "attach",
        "build",
        "develop",
        "blkio_config",
        "cap_add",
        "cap_drop",
        "cgroup_parent",
        "cgroup",
        "cpu_count",
        "cpu_percent",
        "cpu_period",
        "cpu_quota",
        "cpu_rt_period",
        "cpu_rt_runtime",
        "cpus",
        "cpuset",
        "cpu_shares",
        "command",
        "configs",
        "container_name",
        "credential_spec",
        "depends_on",
        "deploy",
        "device_cgroup_rules",
        "devices",
        "dns",
        "dns_opt",
        "dns_search",
        "dockerfile",
        "domainname",
        "entrypoint",
        "provider",
        "environment",
        "env_file",
        "expose",
        "extends",
        "external_links",
        "extra_hosts",
        "group_add",
        "gpus",
        "hostname",
        "healthcheck",
        "image",
        "init",
        "ipc",
        "isolation",
        "labels",
        "label_file",
        "links",
        "logging",
        "log_driver",
        "log_opt",
        "mem_limit",
        "mem_reservation",
        "memswap_limit",
        "mem_swappiness",
        "mac_address",
        "models",
        "net",
        "network_mode",
        "networks",
        "oom_kill_disable",
        "oom_score_adj",
        "pid",
        "pids_limit",
        "platform",
        "ports",
        "privileged",
        "pull_policy",
        "read_only",
        "restart",
        "runtime",
        "scale",
        "secrets",
        "security_opt",
        "shm_size",
        "stdin_open",
        "stop_grace_period",
        "stop_signal",
        "storage_opt",
        "sysctls",
        "tmpfs",
        "tty",
        "ulimits",
        "use_api_socket",
        "user",
        "userns_mode",
        "uts",
        "volume_driver",
        "volumes",
        "volumes_from",
        "working_dir",
        "pre_start",
        "post_start",
        "pre_stop",
    ],
    "provider": ("type", "options"),
    "blkio": (
        "weight",
        "weight_device",
        "device_read_bps",
        "device_read_iops",
        "device_write_bps",
        "device_write_iops",
    ),
    "device": ("source", "target", "permissions"),
    "logging": ("driver", "options"),
    "deploy": [
        "mode",
        "replicas",
        "labels",
        "update_config",
        "rollback_config",
        "resources",
        "restart_policy",
        "placement",
        "endpoint_mode",
    ],
    "update": ("parallelism", "delay", "failure_action", "monitor", "max_failure_ratio", "order"),
    "resources": ("limits", "reservations"),
    "resource": ("cpus", "memory", "pids", "devices", "generic_resources"),
    "restart_policy": ("condition", "delay", "max_attempts", "window"),
    "placement": ("constraints", "preferences", "max_replicas_per_node"),
    "svc_network": [
        "aliases",
        "driver_opts",
        "gw_priority",
        "interface_name",
        "ipv4_address",
        "ipv6_address",
        "link_local_ips",
        "mac_address",
        "priority",
    ],
    "port": ("name", "mode", "host_ip", "target", "published", "protocol", "app_protocol"),
    "mount": ("type", "source", "target", "read_only", "consistency", "bind", "volume", "tmpfs", "image"),
    "bind": ("selinux", "propagation", "create_host_path", "recursive"),
    "mount_volume": ("labels", "nocopy", "subpath"),
    "mount_tmpfs": ("size", "mode"),
    "file_ref": ("source", "target", "uid", "gid", "mode"),
    "ulimit": ("single", "soft", "hard"),
    "network": [
        "name",
        "driver",
        "driver_opts",
        "ipam",
        "external",
        "internal",
        "attachable",
        "labels",
        "enable_ipv4",
        "enable_ipv6",
    ],
    "ipam": ("driver", "config", "options"),
    "ipam_pool": ("subnet", "gateway", "ip_range", "aux_addresses"),
    "volume": ("name", "driver", "driver_opts", "external", "labels"),
    "credential_spec": ("config", "file", "registry"),
    "file_obj": [
        "name",
        "file",
        "environment",
        "content",
        "external",
        "labels",
        "driver",
        "driver_opts",
        "template_driver",
    ],
    "dependency": ("condition", "restart", "required"),
    "extends": ("file", "service"),
    "build": [
        "context",
        "dockerfile",
        "dockerfile_inline",
        "entitlements",
        "args",
        "provenance",
        "sbom",
        "ssh",
        "labels",
        "cache_from",
        "cache_to",
        "no_cache",
        "no_cache_filter",
        "additional_contexts",
        "pull",
        "extra_hosts",
        "isolation",
        "network",
        "target",
        "secrets",
        "shm_size",
        "tags",
        "ulimits",
        "platforms",
        "privileged",
    ],
    "healthcheck": ("test", "timeout", "interval", "retries", "start_period", "start_interval", "disable"),
    "develop": ("watch",),
    "hook": ("command", "image", "user", "privileged", "working_dir", "environment", "per_replica"),
    "device_request": ("capabilities", "driver", "count", "device_ids", "options"),
    "watch": ("path", "action", "target", "exec", "include", "ignore", "initial_sync"),
}

# (struct kind, field) -> (shape, kind of the child): "one" struct, "list" of structs, "map" of structs.
_CHILDREN: dict[tuple[str, str], tuple[str, str]] = {
    ("service", "provider"): ("one", "provider"),
    ("service", "build"): ("one", "build"),
    ("service", "develop"): ("one", "develop"),
    ("service", "blkio_config"): ("one", "blkio"),
    ("service", "configs"): ("list", "file_ref"),
    ("service", "secrets"): ("list", "file_ref"),
    ("service", "credential_spec"): ("one", "credential_spec"),
    ("service", "depends_on"): ("map", "dependency"),
    ("service", "deploy"): ("one", "deploy"),
    ("service", "devices"): ("list", "device"),
    ("service", "extends"): ("one", "extends"),
    ("service", "healthcheck"): ("one", "healthcheck"),
    ("service", "logging"): ("one", "logging"),
    ("service", "networks"): ("map", "svc_network"),
    ("service", "ports"): ("list", "port"),
    ("service", "ulimits"): ("map", "ulimit"),
    ("service", "volumes"): ("list", "mount"),
    ("build", "secrets"): ("list", "file_ref"),
    ("build", "ulimits"): ("map", "ulimit"),
    ("develop", "watch"): ("list", "watch"),
    ("watch", "exec"): ("one", "hook"),
    ("service", "gpus"): ("list", "device_request"),
    ("service", "post_start"): ("list", "hook"),
    ("service", "pre_start"): ("list", "hook"),
    ("service", "pre_stop"): ("list", "hook"),
    ("resource", "devices"): ("list", "device_request"),
    ("deploy", "update_config"): ("one", "update"),
    ("deploy", "rollback_config"): ("one", "update"),
    ("deploy", "resources"): ("one", "resources"),
    ("deploy", "restart_policy"): ("one", "restart_policy"),
    ("deploy", "placement"): ("one", "placement"),
    ("resources", "limits"): ("one", "resource"),
    ("resources", "reservations"): ("one", "resource"),
    ("mount", "bind"): ("one", "bind"),
    ("mount", "volume"): ("one", "mount_volume"),
    ("mount", "tmpfs"): ("one", "mount_tmpfs"),
    ("network", "ipam"): ("one", "ipam"),
    ("ipam", "config"): ("list", "ipam_pool"),
}

_TOP_CHILDREN = {
    "services": "service",
    "networks": "network",
    "volumes": "volume",
    "secrets": "file_obj",
    "configs": "file_obj",
}


def _sorted_map(value: Any) -> Any:
    """A Go map: keys sorted, values likewise (nested maps of plain values)."""
    if isinstance(value, dict):
        return {k: _sorted_map(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_map(v) for v in value]
    return value


def order_mapping(value: dict[str, Any], kind: str) -> dict[str, Any]:
    """order_struct for a mapping (the typed form the model's to_dict() returns)."""
    ordered: dict[str, Any] = order_struct(value, kind)
    return ordered


def order_struct(value: Any, kind: str) -> Any:
    if not isinstance(value, dict):
        return value
    fields = _FIELDS[kind]
    known = [k for k in fields if k in value]
    extra = [k for k in value if k not in fields]
    result: dict[str, Any] = {}
    for key in known + extra:
        child = _CHILDREN.get((kind, key))
        item = value[key]
        if child is None:
            result[key] = _sorted_map(item) if key in fields else item
        elif child[0] == "one":
            result[key] = order_struct(item, child[1])
        elif child[0] == "list" and isinstance(item, list):
            result[key] = [order_struct(v, child[1]) for v in item]
        elif child[0] == "map" and isinstance(item, dict):
            result[key] = {k: order_struct(item[k], child[1]) for k in sorted(item)}
        else:
            result[key] = item
    return result


def order_project(project: dict[str, Any]) -> dict[str, Any]:
    """Top level sorted by key (the reference marshals the project through a map)."""
    result: dict[str, Any] = {}
    for key in sorted(project):
        value = project[key]
        kind = _TOP_CHILDREN.get(key)
        if kind is not None and isinstance(value, dict):
            result[key] = {k: order_struct(value[k], kind) for k in sorted(value)}
        else:
            result[key] = value
    return result


def _strip_struct(value: Any, kind: str) -> Any:
    """Drop `x-*` keys of a struct and of the structs inside it; maps (labels...) keep every key."""
    if not isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    for key, item in value.items():
        if key.startswith("x-"):
            continue
        child = _CHILDREN.get((kind, key))
        if child is None:
            result[key] = item
        elif child[0] == "one":
            result[key] = _strip_struct(item, child[1])
        elif child[0] == "list" and isinstance(item, list):
            result[key] = [_strip_struct(v, child[1]) for v in item]
        elif child[0] == "map" and isinstance(item, dict):
            result[key] = {k: _strip_struct(v, child[1]) for k, v in item.items()}
        else:
            result[key] = item
    return result


def strip_extensions(value: Any, kind: str) -> Any:
    """One struct (a service, a network...) without its `x-*` keys, nested structs included."""
    return _strip_struct(value, kind)


def without_extensions(project: dict[str, Any]) -> dict[str, Any]:
    """The project as the reference's JSON prints it: `x-*` kept only at the top level."""
    result: dict[str, Any] = {}
    for key, value in project.items():
        kind = _TOP_CHILDREN.get(key)
        if kind is not None and isinstance(value, dict):
            result[key] = {k: _strip_struct(v, kind) for k, v in value.items()}
        else:
            result[key] = value
    return result


def _yaml_struct(value: Any, kind: str) -> Any:
    """One struct as the reference's YAML prints it (see `yaml_view`)."""
    if not isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    for key, item in value.items():
        child = _CHILDREN.get((kind, key))
        if child is not None and child[0] == "one":
            item = _yaml_struct(item, child[1])
        elif child is not None and child[0] == "list" and isinstance(item, list):
            item = [_yaml_struct(v, child[1]) for v in item]
        elif child is not None and child[0] == "map" and isinstance(item, dict):
            item = {k: _yaml_struct(v, child[1]) for k, v in item.items()}
        if kind == "service" and key in ("command", "entrypoint") and item is None:
            continue
        if (kind, key) in _YAML_OMITS_EMPTY and (item == {} or item == {"command": None}):
            continue
        if kind == "blkio" and isinstance(item, list):
            item = [{str(k).lower(): v for k, v in entry.items()} for entry in item]
        if kind == "service" and key == "ulimits" and isinstance(item, dict):
            item = {k: {"soft": 0, "hard": 0} if v == {} else v for k, v in item.items()}
        result[key] = item
    return result


# Structs the reference's JSON prints as {} but its YAML omits when empty.
_YAML_OMITS_EMPTY = {
    ("network", "ipam"),
    ("deploy", "placement"),
    ("deploy", "resources"),
    ("watch", "exec"),
}


def yaml_view(project: dict[str, Any]) -> dict[str, Any]:
    """The project as the reference's YAML prints it: `x-*` kept everywhere, null command/entrypoint
    and empty ipam/placement/resources/exec omitted, blkio device fields in lower case, zero ulimits
    spelt out."""
    result: dict[str, Any] = {}
    for key, value in project.items():
        kind = _TOP_CHILDREN.get(key)
        if kind is not None and isinstance(value, dict):
            result[key] = {k: _yaml_struct(v, kind) for k, v in value.items()}
        else:
            result[key] = value
    return result
