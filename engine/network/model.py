"""Networks and endpoints as recorded on disk and shown by the API (Docker's field names where they exist)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

PREDEFINED = ("bridge", "host", "none")


@dataclass(frozen=True)
class IPAMPool:
    """An IPAM pool: subnet, gateway, IP range and auxiliary addresses."""

    subnet: str
    gateway: str
    ip_range: str = ""
    aux: dict[str, str] = field(default_factory=dict)  # AuxiliaryAddresses: reserved, never given out


@dataclass(frozen=True)
class Network:
    """A network's record, as `docker network inspect` shows it."""

    id: str
    name: str
    driver: str  # "bridge" | "host" | "null"
    created: str
    bridge: str = ""  # Linux bridge name ("" for host/none)
    internal: bool = False
    attachable: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    pools: tuple[IPAMPool, ...] = ()
    ipam_driver_options: dict[str, str] = field(default_factory=dict)
    user_ipam: bool = False  # IPAM.Config given by the user (inspect shows it as given)
    pools6: tuple[IPAMPool, ...] = ()  # EnableIPv6: the IPv6 subnet (given, or a ULA /64 of our own)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Network:
        d = dict(d)
        d["pools"] = tuple(IPAMPool(**p) for p in d.get("pools", ()))
        d["pools6"] = tuple(IPAMPool(**p) for p in d.get("pools6", ()))
        return cls(**d)

    @property
    def ipv6(self) -> bool:
        return bool(self.pools6)

    @property
    def scope_name(self) -> str:
        return self.name


@dataclass(frozen=True)
class EndpointConfig:
    """What a container asked for on one network (create's EndpointsConfig, or connect)."""

    aliases: tuple[str, ...] = ()
    ipv4: str = ""  # IPAMConfig.IPv4Address
    ipv6: str = ""  # IPAMConfig.IPv6Address (an IPv6 network with a given subnet)
    links: tuple[str, ...] = ()
    mac: str = ""
    link_local_ips: tuple[str, ...] = ()  # IPAMConfig.LinkLocalIPs: kept and shown, as dockerd
    driver_opts: dict[str, str] = field(default_factory=dict)  # DriverOpts: kept and shown

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> EndpointConfig:
        return cls(
            aliases=tuple(d.get("aliases", ())),
            ipv4=d.get("ipv4", ""),
            ipv6=d.get("ipv6", ""),
            links=tuple(d.get("links", ())),
            mac=d.get("mac", ""),
            link_local_ips=tuple(d.get("link_local_ips", ())),
            driver_opts=dict(d.get("driver_opts") or {}),
        )


@dataclass(frozen=True)
class Endpoint:
    """A live attachment: one veth pair between a container's netns and a bridge."""

    id: str
    network_id: str
    container_id: str
    ifname: str  # inside the container (eth0, eth1...)
    host_veth: str
    ip: str
    prefixlen: int
    gateway: str
    mac: str
    ip6: str = ""  # on an IPv6 network: the endpoint's IPv6 address, prefix length and gateway
    prefixlen6: int = 0
    gateway6: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Endpoint:
        return cls(**d)


@dataclass(frozen=True)
class PortMapping:
    """One published port: host_ip:host_port/proto -> container port."""

    container_port: int
    proto: str  # "tcp" | "udp"
    host_ip: str  # "" = all IPv4 addresses
    host_port: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> PortMapping:
        return cls(**d)
