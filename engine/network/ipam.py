"""Address management: choose a subnet from the default pools that collides with nothing the host routes,
and hand out addresses inside it. Pure functions; the caller supplies what is in use."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from engine.errors import Conflict, InvalidParameter

Net4 = ipaddress.IPv4Network

# Docker's defaults: 172.17-31.0.0/16, then 192.168.0.0/16 cut into /20s
DEFAULT_POOLS: tuple[tuple[str, int], ...] = (
    *((f"172.{i}.0.0/16", 16) for i in range(17, 32)),
    ("192.168.0.0/16", 20),
)


def parse_net(text: str, what: str = "subnet") -> Net4:
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidParameter(f"invalid {what} {text!r}") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise InvalidParameter(f"IPv6 {what} {text!r} is not supported by this engine")
    return net


def candidate_subnets(pools: Iterable[tuple[str, int]] = DEFAULT_POOLS) -> Iterable[Net4]:
    for base, size in pools:
        yield from ipaddress.IPv4Network(base).subnets(new_prefix=size)


def choose_subnet(used: Iterable[Net4], pools: Iterable[tuple[str, int]] = DEFAULT_POOLS) -> Net4:
    """The first pool subnet overlapping none of `used` (our networks and every host route/address)."""
    taken = [u for u in used if u.prefixlen > 0]  # the default route overlaps everything: ignore it
    for cand in candidate_subnets(pools):
        if not any(cand.overlaps(u) for u in taken):
            return cand
    raise Conflict("could not find an available, non-overlapping IPv4 address pool among the defaults")


def default_gateway(subnet: Net4) -> str:
    return str(next(subnet.hosts()))


def allocate(subnet: Net4, ip_range: Net4 | None, used: set[str], gateway: str) -> str:
    """The lowest free host address of ip_range (or the subnet)."""
    space = ip_range or subnet
    for host in space.hosts() if space.prefixlen < 31 else space:
        s = str(host)
        if s != gateway and s not in used and host in subnet and host != subnet.broadcast_address:
            return s
    raise Conflict(f"no available IPv4 addresses on this network's address pools: {subnet}")


def check_requested(subnet: Net4, ip: str, used: set[str], gateway: str) -> str:
    try:
        addr = ipaddress.IPv4Address(ip)
    except ValueError:
        raise InvalidParameter(f"invalid IPv4 address {ip!r}") from None
    if addr not in subnet:
        raise InvalidParameter(f"no configured subnet contains IP address {ip}")
    if ip in used or ip == gateway:
        raise Conflict(f"Address already in use: {ip}")
    return ip


def parse_net6(text: str, what: str = "subnet") -> ipaddress.IPv6Network:
    try:
        net = ipaddress.IPv6Network(text, strict=False)
    except ValueError:
        raise InvalidParameter(f"invalid {what} {text!r}") from None
    if net.prefixlen > 124:
        raise InvalidParameter(f"IPv6 {what} {text!r} is too small")
    return net


def ula_subnet(used: Iterable[ipaddress.IPv6Network], random_bits: int) -> ipaddress.IPv6Network:
    """A /64 from fd00::/8 with a random global id (RFC 4193), overlapping none of `used`."""
    for attempt in range(64):
        bits = (random_bits + attempt * 0x9E3779B97F) & ((1 << 56) - 1)
        cand = ipaddress.IPv6Network(((0xFD << 120) | (bits << 64), 64))
        if not any(cand.overlaps(u) for u in used):
            return cand
    raise InvalidParameter("could not find an available, non-overlapping IPv6 address pool")


def allocate6(subnet: ipaddress.IPv6Network, used: set[str], gateway: str) -> str:
    """The lowest free address of an IPv6 subnet after the gateway (subnet router anycast excluded)."""
    start = int(subnet.network_address) + 1
    for n in range(start, min(start + 65536, int(subnet.broadcast_address) + 1)):
        addr = str(ipaddress.IPv6Address(n))
        if addr != gateway and addr not in used:
            return addr
    raise Conflict(f"no available IPv6 addresses on this network's address pools: {subnet}")


def check_requested6(subnet: ipaddress.IPv6Network, ip: str, used: set[str], gateway: str) -> str:
    try:
        addr = ipaddress.IPv6Address(ip)
    except ValueError:
        raise InvalidParameter(f"invalid IPv6 address {ip!r}") from None
    if addr not in subnet:  # dockerd's words for an IPv6 address
        raise InvalidParameter(f"Invalid address {ip}: It does not belong to any of this network's subnets")
    if str(addr) in used or str(addr) == gateway:
        raise Conflict(f"Address already in use: {ip}")
    return str(addr)
