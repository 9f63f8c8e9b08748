"""Service `ports`: short syntax ("[ip:][host:]container[/proto]", ranges, IPv6) to the long form.

The short syntax follows Docker's port-spec rules; the expansion order is Compose's: one entry per
container port, keys sorted as the strings "<port>/<proto>" (so "8-10" yields 10, 8, 9).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from composer.canonical.units import UnitError, to_int

_PROTOCOLS = ("tcp", "udp", "sctp")


class PortError(ValueError):
    pass


def _split_range(text: str, what: str) -> tuple[int, int]:
    start, sep, end = text.partition("-")
    try:
        low = int(start)
        high = int(end) if sep else low
    except ValueError as exc:
        raise PortError(f"invalid {what}: {text}") from exc
    if not (0 <= low <= 65535 and 0 <= high <= 65535) or high < low:
        raise PortError(f"invalid {what}: {text}")
    return low, high


def _split_spec(spec: str) -> tuple[str, str, str]:
    """Return (host_ip, host_port, container_port) from the part before "/proto"."""
    parts = spec.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    ip = ":".join(parts[:-2])
    if ip.startswith("[") and ip.endswith("]"):
        ip = ip[1:-1]
    return ip, parts[-2], parts[-1]


def parse_port_spec(spec: str) -> list[dict[str, Any]]:
    """Expand one short-syntax port into long-form entries (without defaults)."""
    body, _, proto = spec.rpartition("/") if "/" in spec else (spec, "", "tcp")
    proto = (proto or "tcp").lower()
    if proto not in _PROTOCOLS:
        raise PortError(f"invalid proto: {proto}")
    host_ip, host_port, container = _split_spec(body)
    if host_ip:
        try:
            if "%" in host_ip:  # zoned IPv6 addresses are refused, as Go's net.ParseIP does
                raise ValueError(host_ip)
            ipaddress.ip_address(host_ip)
        except ValueError as exc:
            raise PortError(f"invalid IP address: {host_ip}") from exc
    if not container:
        raise PortError(f"no port specified: {spec}<empty>")
    c_low, c_high = _split_range(container, "containerPort")
    bindings: dict[int, str] = {}
    if host_port:
        h_low, h_high = _split_range(host_port, "hostPort")
        if c_high - c_low != h_high - h_low:
            if c_low != c_high:
                raise PortError(
                    f"invalid ranges specified for container and host Ports: {container} and {host_port}"
                )
            bindings[c_low] = host_port  # one container port published on a host range
        else:
            for offset in range(c_high - c_low + 1):
                bindings[c_low + offset] = str(h_low + offset)
    keys = sorted(f"{port}/{proto}" for port in range(c_low, c_high + 1))
    result: list[dict[str, Any]] = []
    for key in keys:
        port = int(key.split("/")[0])
        entry: dict[str, Any] = {"mode": "ingress"}
        if host_ip:
            entry["host_ip"] = host_ip
        entry["target"] = port
        if port in bindings:
            entry["published"] = bindings[port]
        entry["protocol"] = proto
        result.append(entry)
    return result


def normalize_ports(value: list[Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for item in value:
        if isinstance(item, dict):
            entry = dict(item)
            if entry.get("target") is None:
                raise PortError("is missing a target port")
            if "target" in entry:
                try:
                    entry["target"] = to_int(entry["target"])
                except UnitError as exc:
                    raise PortError(str(exc)) from exc
            if entry.get("published") is not None:
                entry["published"] = str(entry["published"])
            entry.setdefault("protocol", "tcp")
            entry.setdefault("mode", "ingress")
            result.append(entry)
        else:
            result.extend(parse_port_spec(str(item)))
    return result
