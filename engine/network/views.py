"""Docker's JSON shapes for networks and a container's NetworkSettings. Pure functions over the records."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from engine.network.model import Endpoint, EndpointConfig, Network, PortMapping
from engine.network.ports import parse_port_key

DRIVER_OPTION_BRIDGE = "com.docker.network.bridge.name"
DRIVER_OPTION_MTU = "com.docker.network.driver.mtu"


def ipam_config(n: Network) -> list[dict[str, Any]]:
    out = []
    for p in n.pools:
        item: dict[str, Any] = {"Subnet": p.subnet, "Gateway": p.gateway}
        if p.ip_range:
            item["IPRange"] = p.ip_range
        if p.aux:
            item["AuxiliaryAddresses"] = dict(p.aux)
        out.append(item)
    for p in n.pools6:
        # the default bridge's (--fixed-cidr-v6) is shown as dockerd shows it: the subnet alone
        out.append({"Subnet": p.subnet} if n.name == "bridge" else {"Subnet": p.subnet, "Gateway": p.gateway})
    return out


def network_json(n: Network, containers: dict[str, dict[str, str]] | None) -> dict[str, Any]:
    d: dict[str, Any] = {
        "Name": n.name,
        "Id": n.id,
        "Created": n.created,
        "Scope": "local",
        "Driver": n.driver,
        "EnableIPv4": True,
        "EnableIPv6": n.ipv6,
        "IPAM": {"Driver": "default", "Options": n.ipam_driver_options or None, "Config": ipam_config(n)},
        "Internal": n.internal,
        "Attachable": n.attachable,
        "Ingress": False,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": False,
        "Containers": containers if containers is not None else {},
        "Options": dict(n.options),
        "Labels": dict(n.labels),
    }
    return d


def container_entry(name: str, ep: Endpoint) -> dict[str, str]:
    return {
        "Name": name,
        "EndpointID": ep.id,
        "MacAddress": ep.mac,
        "IPv4Address": f"{ep.ip}/{ep.prefixlen}",
        "IPv6Address": f"{ep.ip6}/{ep.prefixlen6}" if ep.ip6 else "",
    }


def endpoint_settings(
    n: Network, cfg: EndpointConfig, ep: Endpoint | None, dns_names: list[str] | None
) -> dict[str, Any]:
    ipam_cfg: dict[str, Any] = {"IPv4Address": cfg.ipv4} if cfg.ipv4 else {}
    if cfg.ipv6:
        ipam_cfg["IPv6Address"] = cfg.ipv6
    if cfg.link_local_ips:
        ipam_cfg["LinkLocalIPs"] = list(cfg.link_local_ips)
    return {
        "IPAMConfig": ipam_cfg or None,
        "Links": list(cfg.links) or None,
        "Aliases": list(cfg.aliases) or None,
        "MacAddress": ep.mac if ep else "",
        "DriverOpts": dict(cfg.driver_opts) or None,
        "GwPriority": 0,
        "NetworkID": n.id,
        "EndpointID": ep.id if ep else "",
        "Gateway": ep.gateway if ep else "",
        "IPAddress": ep.ip if ep else "",
        "IPPrefixLen": ep.prefixlen if ep else 0,
        "IPv6Gateway": ep.gateway6 if ep else "",
        "GlobalIPv6Address": ep.ip6 if ep else "",
        "GlobalIPv6PrefixLen": ep.prefixlen6 if ep else 0,
        "DNSNames": dns_names,
    }


def ports_json(mappings: Iterable[PortMapping], exposed: Iterable[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in exposed:
        port, proto = parse_port_key(key)
        out.setdefault(f"{port}/{proto}", None)
    for m in mappings:
        key = f"{m.container_port}/{m.proto}"
        if out.get(key) is None:
            out[key] = []
        out[key].append({"HostIp": m.host_ip or "0.0.0.0", "HostPort": str(m.host_port)})
    return out


def ps_ports(mappings: Iterable[PortMapping], exposed: Iterable[str]) -> list[dict[str, Any]]:
    """`docker ps`'s Ports list."""
    out: list[dict[str, Any]] = []
    published = set()
    for m in mappings:
        published.add((m.container_port, m.proto))
        out.append(
            {
                "IP": m.host_ip or "0.0.0.0",
                "PrivatePort": m.container_port,
                "PublicPort": m.host_port,
                "Type": m.proto,
            }
        )
    for key in exposed:
        port, proto = parse_port_key(key)
        if (port, proto) not in published:
            out.append({"PrivatePort": port, "Type": proto})
    return out


def settings_json(
    bridge: str,
    netns: str,
    networks: dict[str, dict[str, Any]],
    primary: Endpoint | None,
    ports: dict[str, Any],
) -> dict[str, Any]:
    return {
        "Bridge": "",
        "SandboxID": "",
        "SandboxKey": netns,
        "HairpinMode": False,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": ports,
        "SecondaryIPAddresses": None,
        "SecondaryIPv6Addresses": None,
        # the legacy top-level fields describe the default bridge endpoint, as in Docker
        "EndpointID": primary.id if primary and bridge else "",
        "Gateway": primary.gateway if primary and bridge else "",
        "GlobalIPv6Address": primary.ip6 if primary and bridge else "",
        "GlobalIPv6PrefixLen": primary.prefixlen6 if primary and bridge else 0,
        "IPAddress": primary.ip if primary and bridge else "",
        "IPPrefixLen": primary.prefixlen if primary and bridge else 0,
        "IPv6Gateway": primary.gateway6 if primary and bridge else "",
        "MacAddress": primary.mac if primary and bridge else "",
        "Networks": networks,
    }
