"""Value types inside a service: ports, mounts, dependencies, healthcheck, build, networks, file refs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from composer._typecheck import TYPE_CHECKING
from composer.canonical.order import order_mapping
from composer.canonical.units import parse_bytes, parse_duration
from composer.model.frozen import FrozenMap, empty, freeze, pick, put, thaw

if TYPE_CHECKING:
    from typing import Any


@dataclass(frozen=True)
class PortMapping:
    """One published or exposed port of a service."""

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
            put(out, key, getattr(self, key))
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
    other: FrozenMap = field(default_factory=empty)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Mount:
        known, rest = pick(d, ("type", "target", "source", "read_only", "bind", "volume", "tmpfs"))
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
        put(out, "source", self.source)
        out["target"] = self.target
        if self.read_only:
            out["read_only"] = True
        for key in ("bind", "volume", "tmpfs"):
            put(out, key, getattr(self, key))
        out.update(thaw(self.other))
        return order_mapping(out, "mount")

    @property
    def tmpfs_size(self) -> int | None:
        size = (self.tmpfs or {}).get("size")
        return parse_bytes(size) if size is not None else None


@dataclass(frozen=True)
class DependsOn:
    """One entry of a service's `depends_on`."""

    condition: str = "service_started"
    required: bool = True
    restart: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"condition": self.condition}
        put(out, "restart", self.restart)
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
            put(out, key, getattr(self, key))
        if self.disable:
            out["disable"] = True
        return out

    def nanoseconds(self, key: str) -> int | None:
        value = getattr(self, key)
        return parse_duration(value) if value is not None else None


@dataclass(frozen=True)
class BuildSpec:
    """A service's `build` section."""

    context: str
    dockerfile: str | None = None
    dockerfile_inline: str | None = None
    args: FrozenMap = field(default_factory=empty)
    target: str | None = None
    other: FrozenMap = field(default_factory=empty)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BuildSpec:
        known, rest = pick(d, ("context", "dockerfile", "dockerfile_inline", "args", "target"))
        return cls(
            context=known["context"],
            dockerfile=known.get("dockerfile"),
            dockerfile_inline=known.get("dockerfile_inline"),
            args=freeze(known["args"]) if "args" in known else empty(),
            target=known.get("target"),
            other=rest,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"context": self.context}
        put(out, "dockerfile", self.dockerfile)
        put(out, "dockerfile_inline", self.dockerfile_inline)
        if self.args:
            out["args"] = thaw(self.args)
        put(out, "target", self.target)
        out.update(thaw(self.other))
        return order_mapping(out, "build")


@dataclass(frozen=True)
class ServiceNetwork:
    """A service's settings on one of its networks."""

    aliases: tuple[str, ...] = ()
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    other: FrozenMap = field(default_factory=empty)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ServiceNetwork:
        known, rest = pick(d, ("aliases", "ipv4_address", "ipv6_address"))
        return cls(
            tuple(known.get("aliases", ())), known.get("ipv4_address"), known.get("ipv6_address"), rest
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.aliases:
            out["aliases"] = list(self.aliases)
        put(out, "ipv4_address", self.ipv4_address)
        put(out, "ipv6_address", self.ipv6_address)
        out.update(thaw(self.other))
        return order_mapping(out, "svc_network")


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
            put(out, key, getattr(self, key))
        return out
