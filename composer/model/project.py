"""The project: services plus top-level resources, and Compose's config hash of a service."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from composer._typecheck import TYPE_CHECKING
from composer.canonical.order import order_mapping, order_project, strip_extensions
from composer.model.frozen import FrozenMap, empty, freeze, pick, put, thaw
from composer.model.service import Service

if TYPE_CHECKING:
    from typing import Any, TypeAlias


@dataclass(frozen=True)
class Resource:
    """A top-level network, volume, secret or config: `name` is the engine-side name."""

    key: str
    name: str
    external: bool = False
    driver: str | None = None
    labels: Mapping[str, str] = field(default_factory=empty)
    other: FrozenMap = field(default_factory=empty)

    @classmethod
    def from_dict(cls, key: str, d: Mapping[str, Any]) -> Resource:
        known, rest = pick(d, ("name", "external", "driver", "labels"))
        return cls(
            key=key,
            name=known.get("name", key),
            external=bool(known.get("external", False)),
            driver=known.get("driver"),
            labels=freeze(known.get("labels") or {}),
            other=rest,
        )

    # Kind-specific settings, read from `other` (kept there so the canonical order round-trips).
    @property
    def driver_opts(self) -> Mapping[str, str]:
        return self.other.get("driver_opts") or empty()

    @property
    def ipam(self) -> FrozenMap:
        """networks: {driver, config: [{subnet, gateway, ip_range, aux_addresses}]}."""
        return self.other.get("ipam") or empty()

    @property
    def internal(self) -> bool:
        return bool(self.other.get("internal", False))

    @property
    def attachable(self) -> bool:
        return bool(self.other.get("attachable", False))

    @property
    def enable_ipv6(self) -> bool | None:
        return self.other.get("enable_ipv6")

    @property
    def file(self) -> str | None:
        """secrets/configs: the absolute path of the source file."""
        return self.other.get("file")

    @property
    def environment(self) -> str | None:
        """secrets/configs: the variable holding the content."""
        return self.other.get("environment")

    @property
    def content(self) -> str | None:
        """configs: inline content."""
        return self.other.get("content")

    def to_dict(self, kind: str) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        put(out, "driver", self.driver)
        if self.external:
            out["external"] = True
        if self.labels:
            out["labels"] = thaw(self.labels)
        out.update(thaw(self.other))
        return order_mapping(out, kind)


# One shape serves the four top-level kinds; the names say which one a mapping holds.
Network: TypeAlias = Resource
Volume: TypeAlias = Resource
Secret: TypeAlias = Resource
Config: TypeAlias = Resource

_RESOURCE_KINDS = {"networks": "network", "volumes": "volume", "secrets": "file_obj", "configs": "file_obj"}


@dataclass(frozen=True)
class Project:
    """The typed model of a loaded project."""

    name: str
    services: Mapping[str, Service] = field(default_factory=empty)
    networks: Mapping[str, Network] = field(default_factory=empty)
    volumes: Mapping[str, Volume] = field(default_factory=empty)
    secrets: Mapping[str, Secret] = field(default_factory=empty)
    configs: Mapping[str, Config] = field(default_factory=empty)
    extensions: FrozenMap = field(default_factory=empty)
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


# id(service) -> (service, hash): `up` asks for each service's hash when it observes, plans and creates;
# the service is kept with its hash so its id cannot be reused by another object meanwhile
_HASHES: dict[int, tuple[Service, str]] = {}


def service_config_hash(project: Project, name: str) -> str:
    """Compose's `com.docker.compose.config-hash` of a service (`docker compose config --hash`)."""
    typed = project.services[name]
    known = _HASHES.get(id(typed))
    if known is not None and known[0] is typed:
        return known[1]
    digest = _config_hash(typed)
    _HASHES[id(typed)] = (typed, digest)
    return digest


def _config_hash(typed: Service) -> str:
    service = typed.to_dict()
    for key in _HASH_EXCLUDED:
        service.pop(key, None)
    if isinstance(service.get("deploy"), dict):
        service["deploy"].pop("replicas", None)
    service = strip_extensions(service, "service")  # the reference's JSON has no x-* below the top
    from composer.digest import sha256_hex  # `config` without --hash never needs it

    return sha256_hex(go_json(service).encode("utf-8"))
