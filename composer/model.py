"""The typed project model: frozen dataclasses built once from the canonical dict.

`Project.from_dict(canonical)` and `Project.to_dict()` round-trip exactly (same keys, same order), so
the model can be printed or hashed without keeping the dict around. Fields the orchestrator uses are
typed attributes; the rest of a service's settings stay in `Service.options`, frozen, with their
canonical spelling. `service_config_hash` matches Compose's `com.docker.compose.config-hash`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from composer.loader.norm_order import order_project, order_struct
from composer.loader.norm_units import parse_bytes, parse_duration

FrozenMap = Mapping[str, Any]
_EMPTY: FrozenMap = MappingProxyType({})


def _empty() -> FrozenMap:
    return MappingProxyType({})


def freeze(value: Any) -> Any:
    """Dicts become read-only mappings and lists tuples, recursively."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """The inverse of `freeze`: plain dicts and lists, ready for JSON."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


def _pick(d: Mapping[str, Any], known: tuple[str, ...]) -> tuple[dict[str, Any], FrozenMap]:
    """Split a dict into the known fields and a frozen mapping of the rest."""
    return {k: d[k] for k in known if k in d}, freeze({k: v for k, v in d.items() if k not in known})


def _put(out: dict[str, Any], key: str, value: Any, *, keep_none: bool = False) -> None:
    if value is not None or keep_none:
        out[key] = thaw(value)


@dataclass(frozen=True)
class PortMapping:
    target: int
    published: str | None = None
    host_ip: str | None = None
    protocol: str = "tcp"
    mode: str = "ingress"
    name: str | None = None
    app_protocol: str | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PortMapping:
        return cls(
            target=int(d["target"]),
            published=d.get("published"),
            host_ip=d.get("host_ip"),
            protocol=d.get("protocol", "tcp"),
            mode=d.get("mode", "ingress"),
            name=d.get("name"),
            app_protocol=d.get("app_protocol"),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("name", "mode", "host_ip", "target", "published", "protocol", "app_protocol"):
            _put(out, key, getattr(self, key))
        return out


@dataclass(frozen=True)
class Mount:
    """One entry of a service's `volumes` (bind, volume, tmpfs, ...), options kept as given."""

    type: str
    target: str
    source: str | None = None
    read_only: bool = False
    bind: FrozenMap | None = None
    volume: FrozenMap | None = None
    tmpfs: FrozenMap | None = None
    other: FrozenMap = field(default_factory=_empty)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Mount:
        known, rest = _pick(d, ("type", "target", "source", "read_only", "bind", "volume", "tmpfs"))
        return cls(
            type=known["type"],
            target=known.get("target", ""),
            source=known.get("source"),
            read_only=bool(known.get("read_only", False)),
            bind=freeze(known["bind"]) if "bind" in known else None,
            volume=freeze(known["volume"]) if "volume" in known else None,
            tmpfs=freeze(known["tmpfs"]) if "tmpfs" in known else None,
            other=rest,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        _put(out, "source", self.source)
        out["target"] = self.target
        if self.read_only:
            out["read_only"] = True
        for key in ("bind", "volume", "tmpfs"):
            _put(out, key, getattr(self, key))
        out.update(thaw(self.other))
        return order_struct(out, "mount")

    @property
    def tmpfs_size(self) -> int | None:
        size = (self.tmpfs or {}).get("size")
        return parse_bytes(size) if size is not None else None


@dataclass(frozen=True)
class DependsOn:
    condition: str = "service_started"
    required: bool = True
    restart: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"condition": self.condition}
        _put(out, "restart", self.restart)
        out["required"] = self.required
        return out


@dataclass(frozen=True)
class Healthcheck:
    """Durations kept as the reference prints them; `*_seconds` give numbers for the engine."""

    test: tuple[str, ...] | None = None
    interval: str | None = None
    timeout: str | None = None
    start_period: str | None = None
    start_interval: str | None = None
    retries: int | None = None
    disable: bool = False

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Healthcheck:
        test = d.get("test")
        return cls(
            test=tuple(test) if test is not None else None,
            interval=d.get("interval"),
            timeout=d.get("timeout"),
            start_period=d.get("start_period"),
            start_interval=d.get("start_interval"),
            retries=d.get("retries"),
            disable=bool(d.get("disable", False)),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("test", "timeout", "interval", "retries", "start_period", "start_interval"):
            _put(out, key, getattr(self, key))
        if self.disable:
            out["disable"] = True
        return out

    def nanoseconds(self, key: str) -> int | None:
        value = getattr(self, key)
        return parse_duration(value) if value is not None else None


@dataclass(frozen=True)
class BuildSpec:
    context: str
    dockerfile: str | None = None
    dockerfile_inline: str | None = None
    args: FrozenMap = field(default_factory=_empty)
    target: str | None = None
    other: FrozenMap = field(default_factory=_empty)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BuildSpec:
        known, rest = _pick(d, ("context", "dockerfile", "dockerfile_inline", "args", "target"))
        return cls(
            context=known["context"],
            dockerfile=known.get("dockerfile"),
            dockerfile_inline=known.get("dockerfile_inline"),
            args=freeze(known["args"]) if "args" in known else _EMPTY,
            target=known.get("target"),
            other=rest,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"context": self.context}
        _put(out, "dockerfile", self.dockerfile)
        _put(out, "dockerfile_inline", self.dockerfile_inline)
        if self.args:
            out["args"] = thaw(self.args)
        _put(out, "target", self.target)
        out.update(thaw(self.other))
        return order_struct(out, "build")


@dataclass(frozen=True)
class ServiceNetwork:
    aliases: tuple[str, ...] = ()
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    other: FrozenMap = field(default_factory=_empty)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ServiceNetwork:
        known, rest = _pick(d, ("aliases", "ipv4_address", "ipv6_address"))
        return cls(
            tuple(known.get("aliases", ())), known.get("ipv4_address"), known.get("ipv6_address"), rest
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.aliases:
            out["aliases"] = list(self.aliases)
        _put(out, "ipv4_address", self.ipv4_address)
        _put(out, "ipv6_address", self.ipv6_address)
        out.update(thaw(self.other))
        return order_struct(out, "svc_network")


@dataclass(frozen=True)
class FileRef:
    """A service's use of a secret or config."""

    source: str
    target: str | None = None
    uid: str | None = None
    gid: str | None = None
    mode: str | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FileRef:
        return cls(d["source"], d.get("target"), d.get("uid"), d.get("gid"), d.get("mode"))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("source", "target", "uid", "gid", "mode"):
            _put(out, key, getattr(self, key))
        return out


_SERVICE_FIELDS = [
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "labels",
    "ports",
    "volumes",
    "depends_on",
    "healthcheck",
    "networks",
    "network_mode",
    "ipc",
    "pid",
    "uts",
    "cgroup",
    "volumes_from",
    "links",
    "secrets",
    "configs",
    "profiles",
    "container_name",
    "scale",
    "deploy",
    "restart",
]


@dataclass(frozen=True)
class Service:
    name: str
    image: str | None = None
    build: BuildSpec | None = None
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    environment: Mapping[str, str | None] = field(default_factory=_empty)
    labels: Mapping[str, str] = field(default_factory=_empty)
    ports: tuple[PortMapping, ...] = ()
    volumes: tuple[Mount, ...] = ()
    depends_on: Mapping[str, DependsOn] = field(default_factory=_empty)
    healthcheck: Healthcheck | None = None
    networks: Mapping[str, ServiceNetwork | None] = field(default_factory=_empty)
    network_mode: str | None = None
    ipc: str | None = None
    pid: str | None = None
    uts: str | None = None
    cgroup: str | None = None
    volumes_from: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    secrets: tuple[FileRef, ...] = ()
    configs: tuple[FileRef, ...] = ()
    profiles: tuple[str, ...] = ()
    container_name: str | None = None
    scale: int | None = None
    restart: str | None = None
    deploy: FrozenMap | None = None
    options: FrozenMap = field(default_factory=_empty)
    """Every other canonical key (cap_add, mem_limit, ulimits, x-* ...), frozen as printed."""

    @property
    def replicas(self) -> int:
        """How many containers the service wants (scale wins, then deploy.replicas, else 1)."""
        if self.scale is not None:
            return self.scale
        replicas = (self.deploy or {}).get("replicas")
        return int(replicas) if replicas is not None else 1

    @classmethod
    def from_dict(cls, name: str, d: Mapping[str, Any]) -> Service:
        known, rest = _pick(d, tuple(_SERVICE_FIELDS))
        get = known.get
        return cls(
            name=name,
            image=get("image"),
            build=BuildSpec.from_dict(known["build"]) if "build" in known else None,
            command=tuple(known["command"]) if get("command") is not None else None,
            entrypoint=tuple(known["entrypoint"]) if get("entrypoint") is not None else None,
            environment=freeze(get("environment") or {}),
            labels=freeze(get("labels") or {}),
            ports=tuple(PortMapping.from_dict(p) for p in get("ports") or []),
            volumes=tuple(Mount.from_dict(v) for v in get("volumes") or []),
            depends_on=MappingProxyType(
                {
                    k: DependsOn(
                        v.get("condition", "service_started"), v.get("required", True), v.get("restart")
                    )
                    for k, v in (get("depends_on") or {}).items()
                }
            ),
            healthcheck=Healthcheck.from_dict(known["healthcheck"]) if "healthcheck" in known else None,
            networks=MappingProxyType(
                {
                    k: ServiceNetwork.from_dict(v) if v is not None else None
                    for k, v in (get("networks") or {}).items()
                }
            ),
            network_mode=get("network_mode"),
            ipc=get("ipc"),
            pid=get("pid"),
            uts=get("uts"),
            cgroup=get("cgroup"),
            volumes_from=tuple(get("volumes_from") or ()),
            links=tuple(get("links") or ()),
            secrets=tuple(FileRef.from_dict(s) for s in get("secrets") or []),
            configs=tuple(FileRef.from_dict(c) for c in get("configs") or []),
            profiles=tuple(get("profiles") or ()),
            container_name=get("container_name"),
            scale=get("scale"),
            restart=get("restart"),
            deploy=freeze(known["deploy"]) if "deploy" in known else None,
            options=rest,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "command": list(self.command) if self.command is not None else None,
            "entrypoint": list(self.entrypoint) if self.entrypoint is not None else None,
        }
        for key in (
            "image",
            "network_mode",
            "ipc",
            "pid",
            "uts",
            "cgroup",
            "container_name",
            "scale",
            "restart",
        ):
            _put(out, key, getattr(self, key))
        if self.build is not None:
            out["build"] = self.build.to_dict()
        for key in ("environment", "labels"):
            if getattr(self, key):
                out[key] = thaw(getattr(self, key))
        for key in ("ports", "volumes", "secrets", "configs"):
            if getattr(self, key):
                out[key] = [item.to_dict() for item in getattr(self, key)]
        for key in ("volumes_from", "links", "profiles"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        if self.depends_on:
            out["depends_on"] = {k: v.to_dict() for k, v in self.depends_on.items()}
        if self.healthcheck is not None:
            out["healthcheck"] = self.healthcheck.to_dict()
        if self.networks:
            out["networks"] = {k: v.to_dict() if v is not None else None for k, v in self.networks.items()}
        _put(out, "deploy", self.deploy)
        out.update(thaw(self.options))
        return order_struct(out, "service")


@dataclass(frozen=True)
class Resource:
    """A top-level network, volume, secret or config: `name` is the engine-side name."""

    key: str
    name: str
    external: bool = False
    driver: str | None = None
    labels: Mapping[str, str] = field(default_factory=_empty)
    other: FrozenMap = field(default_factory=_empty)

    @classmethod
    def from_dict(cls, key: str, d: Mapping[str, Any]) -> Resource:
        known, rest = _pick(d, ("name", "external", "driver", "labels"))
        return cls(
            key=key,
            name=known.get("name", key),
            external=bool(known.get("external", False)),
            driver=known.get("driver"),
            labels=freeze(known.get("labels") or {}),
            other=rest,
        )

    def to_dict(self, kind: str) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        _put(out, "driver", self.driver)
        if self.external:
            out["external"] = True
        if self.labels:
            out["labels"] = thaw(self.labels)
        out.update(thaw(self.other))
        return order_struct(out, kind)


_RESOURCE_KINDS = {"networks": "network", "volumes": "volume", "secrets": "file_obj", "configs": "file_obj"}


@dataclass(frozen=True)
class Project:
    name: str
    services: Mapping[str, Service] = field(default_factory=_empty)
    networks: Mapping[str, Resource] = field(default_factory=_empty)
    volumes: Mapping[str, Resource] = field(default_factory=_empty)
    secrets: Mapping[str, Resource] = field(default_factory=_empty)
    configs: Mapping[str, Resource] = field(default_factory=_empty)
    extensions: FrozenMap = field(default_factory=_empty)
    """Top-level `x-*` keys and any other top-level key we keep verbatim."""

    @classmethod
    def from_dict(cls, canonical: Mapping[str, Any]) -> Project:
        resources = {
            kind: MappingProxyType(
                {k: Resource.from_dict(k, v) for k, v in (canonical.get(kind) or {}).items()}
            )
            for kind in _RESOURCE_KINDS
        }
        rest = {k: v for k, v in canonical.items() if k not in ("name", "services", *_RESOURCE_KINDS)}
        return cls(
            name=canonical["name"],
            services=MappingProxyType(
                {k: Service.from_dict(k, v) for k, v in (canonical.get("services") or {}).items()}
            ),
            networks=resources["networks"],
            volumes=resources["volumes"],
            secrets=resources["secrets"],
            configs=resources["configs"],
            extensions=freeze(rest),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "services": {k: s.to_dict() for k, s in self.services.items()},
        }
        for kind, struct in _RESOURCE_KINDS.items():
            items = getattr(self, kind)
            if items:
                out[kind] = {k: r.to_dict(struct) for k, r in items.items()}
        out.update(thaw(self.extensions))
        return order_project(out)


# Fields the reference blanks before hashing: changing them must not recreate containers.
_HASH_EXCLUDED = ("build", "pull_policy", "scale", "depends_on", "profiles")


def go_json(value: Any) -> str:
    """Compact JSON escaped like Go's encoding/json (HTML-safe: <, >, & and U+2028/2029)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text


def service_config_hash(project: Project, name: str) -> str:
    """Compose's `com.docker.compose.config-hash` of a service (`docker compose config --hash`)."""
    service = project.services[name].to_dict()
    for key in _HASH_EXCLUDED:
        service.pop(key, None)
    if isinstance(service.get("deploy"), dict):
        service["deploy"].pop("replicas", None)
    service = {k: v for k, v in service.items() if not k.startswith("x-")}
    return hashlib.sha256(go_json(service).encode("utf-8")).hexdigest()


__all__ = [
    "BuildSpec",
    "DependsOn",
    "FileRef",
    "Healthcheck",
    "Mount",
    "PortMapping",
    "Project",
    "Resource",
    "Service",
    "ServiceNetwork",
    "service_config_hash",
    "freeze",
    "thaw",
]
