"""/etc/hosts and /etc/resolv.conf of a container on bridge networks: its own address under its hostname,
extra_hosts (host-gateway = its first network's gateway), and the embedded DNS server as its nameserver."""

from __future__ import annotations

from typing import Any

from engine.network.dns import DNS_IP

BASE_HOSTS = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
)


def hosts(
    hostname: str, ip: str, gateway: str, extra_hosts: list[str], links: list[tuple[str, str, str]],
    ip6: str = "",
) -> str:
    """links: (ip, alias, target name) for legacy links on the default bridge; ip6: the first network's
    IPv6 address, listed under the hostname after the IPv4 one, as dockerd does."""
    lines = [BASE_HOSTS]
    for item in extra_hosts:
        name, sep, addr = item.partition(":") if "=" not in item else item.partition("=")
        if not sep:
            continue
        addr = addr.strip("[]")
        if addr == "host-gateway":
            if not gateway:
                continue  # an internal network has no way to the host
            addr = gateway
        lines.append(f"{addr}\t{name}\n")
    for lip, alias, target in links:
        lines.append(f"{lip}\t{alias} {target}\n" if alias != target else f"{lip}\t{target}\n")
    if ip and hostname:
        lines.append(f"{ip}\t{hostname}\n")
    if ip6 and hostname:
        lines.append(f"{ip6}\t{hostname}\n")
    return "".join(lines)


def resolv(host_resolv: str, host_config: dict[str, Any], embedded: bool) -> str:
    """With the embedded DNS: only 127.0.0.11, keeping search/options (the upstreams are its business)."""
    if not embedded:
        return host_resolv
    out = [f"nameserver {DNS_IP}"]
    search = host_config.get("DnsSearch") or []
    options = host_config.get("DnsOptions") or []
    for line in host_resolv.splitlines():
        words = line.split()
        if not words or words[0] == "nameserver":
            continue
        if words[0] in ("search", "domain") and search or words[0] == "options" and options:
            continue
        out.append(line)
    if search:
        out.append("search " + " ".join(search))
    if options:
        out.append("options " + " ".join(options))
    return "\n".join(out) + "\n"
