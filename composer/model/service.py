"""One service of the typed model, with the settings the orchestrator and engine client read.

Typed fields are converted from the canonical dict through small tables (strings, booleans, byte
sizes...); whatever has no typed field stays in `options`, frozen in its canonical spelling, so
`to_dict` gives back exactly the canonical service.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType

from composer._typecheck import TYPE_CHECKING
from composer.canonical.order import order_mapping
from composer.canonical.units import parse_bytes, parse_duration
from composer.model.frozen import FrozenMap, empty, freeze, pick, thaw
from composer.model.parts import (
    BuildSpec,
    DependsOn,
    FileRef,
    Healthcheck,
    Mount,
    PortMapping,
    ServiceNetwork,
)

if TYPE_CHECKING:
    from typing import Any

# canonical key -> kind of typed field
_STRINGS = [
    "image",
    "network_mode",
    "ipc",
    "pid",
    "uts",
    "cgroup",
    "container_name",
    "restart",
    "user",
    "working_dir",
    "hostname",
    "domainname",
    "stop_signal",
    "stop_grace_period",
    "pull_policy",
    "platform",
    "runtime",
    "cgroup_parent",
    "mac_address",
    "userns_mode",
    "isolation",
]
_INTS = ("scale", "pids_limit", "cpu_shares", "oom_score_adj")
_FLAGS = ("tty", "stdin_open", "privileged", "read_only", "oom_kill_disable")  # printed only when true
_OPTIONAL_BOOLS = ("init", "attach")  # printed whenever set, false included
_STRING_TUPLES = [
    "volumes_from",
    "links",
    "profiles",
    "cap_add",
    "cap_drop",
    "dns",
    "dns_search",
    "dns_opt",
    "extra_hosts",
    "tmpfs",
    "expose",
    "security_opt",
    "group_add",
    "external_links",
    "device_cgroup_rules",
]
_STRING_MAPS = ("environment", "labels", "sysctls", "annotations", "storage_opt")
_BYTES = ("mem_limit", "mem_reservation", "memswap_limit", "shm_size")
_FROZEN = ("deploy", "logging", "ulimits", "devices")
_STRUCTS = [
    "build",
    "command",
    "entrypoint",
    "ports",
    "volumes",
    "depends_on",
    "healthcheck",
    "networks",
    "secrets",
    "configs",
    "cpus",
]
_TYPED = (
    *_STRINGS,
    *_INTS,
    *_FLAGS,
    *_OPTIONAL_BOOLS,
    *_STRING_TUPLES,
    *_STRING_MAPS,
    *_BYTES,
    *_FROZEN,
    *_STRUCTS,
)


@dataclass(frozen=True)
class Service:
    """One service of the project, normalized."""

    name: str
    image: str | None = None
    build: BuildSpec | None = None
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    environment: Mapping[str, str | None] = field(default_factory=empty)
    labels: Mapping[str, str] = field(default_factory=empty)
    annotations: Mapping[str, str] = field(default_factory=empty)
    sysctls: Mapping[str, str] = field(default_factory=empty)
    storage_opt: Mapping[str, str] = field(default_factory=empty)
    ports: tuple[PortMapping, ...] = ()
    volumes: tuple[Mount, ...] = ()
    depends_on: Mapping[str, DependsOn] = field(default_factory=empty)
    healthcheck: Healthcheck | None = None
    networks: Mapping[str, ServiceNetwork | None] = field(default_factory=empty)
    secrets: tuple[FileRef, ...] = ()
    configs: tuple[FileRef, ...] = ()
    network_mode: str | None = None
    ipc: str | None = None
    pid: str | None = None
    uts: str | None = None
    cgroup: str | None = None
    container_name: str | None = None
    restart: str | None = None
    user: str | None = None
    working_dir: str | None = None
    hostname: str | None = None
    domainname: str | None = None
    stop_signal: str | None = None
    stop_grace_period: str | None = None
    pull_policy: str | None = None
    platform: str | None = None
    runtime: str | None = None
    cgroup_parent: str | None = None
    mac_address: str | None = None
    userns_mode: str | None = None
    isolation: str | None = None
    scale: int | None = None
    pids_limit: int | None = None
    cpu_shares: int | None = None
    oom_score_adj: int | None = None
    cpus: float | None = None
    mem_limit: int | None = None
    mem_reservation: int | None = None
    memswap_limit: int | None = None
    shm_size: int | None = None
    tty: bool = False
    stdin_open: bool = False
    privileged: bool = False
    read_only: bool = False
    oom_kill_disable: bool = False
    init: bool | None = None
    attach: bool | None = None
    volumes_from: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_opt: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()
    tmpfs: tuple[str, ...] = ()
    expose: tuple[str, ...] = ()
    security_opt: tuple[str, ...] = ()
    group_add: tuple[str, ...] = ()
    external_links: tuple[str, ...] = ()
    device_cgroup_rules: tuple[str, ...] = ()
    deploy: FrozenMap | None = None
    logging: FrozenMap | None = None
    ulimits: FrozenMap | None = None
    devices: tuple[FrozenMap, ...] | None = None
    options: FrozenMap = field(default_factory=empty)
    """Every other canonical key (blkio_config, develop, x-* ...), frozen as printed."""

    @property
    def replicas(self) -> int:
        """How many containers the service wants (scale wins, then deploy.replicas, else 1)."""
        if self.scale is not None:
            return self.scale
        replicas = (self.deploy or {}).get("replicas")
        return int(replicas) if replicas is not None else 1

    @property
    def stop_grace_seconds(self) -> float | None:
        if self.stop_grace_period is None:
            return None
        return parse_duration(self.stop_grace_period) / 1e9

    @classmethod
    def from_dict(cls, name: str, d: Mapping[str, Any]) -> Service:
        known, rest = pick(d, _TYPED)
        values: dict[str, Any] = {"name": name, "options": rest}
        for key, value in known.items():
            values[key] = _typed(key, value)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "command": list(self.command) if self.command is not None else None,
            "entrypoint": list(self.entrypoint) if self.entrypoint is not None else None,
        }
        for spec in fields(self):
            key = spec.name
            if key in ("name", "options", "command", "entrypoint"):
                continue
            value = getattr(self, key)
            printed = _canonical(key, value)
            if printed is not None:
                out[key] = printed
        out.update(thaw(self.options))
        return order_mapping(out, "service")


def _typed(key: str, value: Any) -> Any:
    """Canonical value -> typed field value."""
    if key in _BYTES:
        return parse_bytes(value)
    if key in _STRING_TUPLES:
        return tuple(value)
    if key in _STRING_MAPS or key in _FROZEN:
        return freeze(value)
    converters: dict[str, Callable[[Any], Any]] = {
        "build": BuildSpec.from_dict,
        "command": tuple,
        "entrypoint": tuple,
        "ports": lambda v: tuple(PortMapping.from_dict(p) for p in v),
        "volumes": lambda v: tuple(Mount.from_dict(m) for m in v),
        "depends_on": lambda v: MappingProxyType(
            {
                k: DependsOn(d.get("condition", "service_started"), d.get("required", True), d.get("restart"))
                for k, d in v.items()
            }
        ),
        "healthcheck": Healthcheck.from_dict,
        "networks": lambda v: MappingProxyType(
            {k: ServiceNetwork.from_dict(n) if n is not None else None for k, n in v.items()}
        ),
        "secrets": lambda v: tuple(FileRef.from_dict(s) for s in v),
        "configs": lambda v: tuple(FileRef.from_dict(c) for c in v),
    }
    convert = converters.get(key)
    if value is None or convert is None:
        return value
    return convert(value)


def _canonical(key: str, value: Any) -> Any:
    """Typed field value -> canonical value, or None when the canonical form omits it."""
    if key in _FLAGS:
        return True if value else None
    if key in _BYTES:
        return str(value) if value is not None else None
    if value is None or (not isinstance(value, bool) and value in ((), {})):
        return None
    if key in ("ports", "volumes", "secrets", "configs"):
        return [item.to_dict() for item in value]
    if key in ("build", "healthcheck"):
        return value.to_dict()
    if key == "depends_on":
        return {k: dep.to_dict() for k, dep in value.items()}
    if key == "networks":
        return {k: net.to_dict() if net is not None else None for k, net in value.items()}
    return thaw(value)
