"""Per-container /etc/hosts, /etc/resolv.conf and /etc/hostname, written into the container's state dir
and bind-mounted by the runtime."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

from engine.containers.create import parse_extra_host
from engine.util.atomic import replace_if_changed

DEFAULT_HOSTS = """127.0.0.1\tlocalhost
::1\tlocalhost ip6-localhost ip6-loopback
fe00::0\tip6-localnet
ff00::0\tip6-mcastprefix
ff02::1\tip6-allnodes
ff02::2\tip6-allrouters
"""
# Docker's fallback when nothing usable is left of the host's resolv.conf
DEFAULT_NAMESERVERS = ("8.8.8.8", "8.8.4.4")
_LOOPBACK_NS = re.compile(r"^\s*nameserver\s+(127\.\d+\.\d+\.\d+|::1)\s*$")

# where the gateway would be; without the networking layer a container reaches the host only in host mode
HOST_GATEWAY_IP = "127.0.0.1"


def effective_hostname(config: dict[str, Any], host_config: dict[str, Any]) -> str:
    if host_config.get("NetworkMode") == "host":
        return socket.gethostname()
    name = config.get("Hostname") or ""
    domain = config.get("Domainname") or ""
    return name if not domain else f"{name}.{domain}"


def hosts_content(config: dict[str, Any], host_config: dict[str, Any], host_hosts: Path) -> str:
    extra = []
    for item in host_config.get("ExtraHosts") or []:
        name, ip = parse_extra_host(item)
        extra.append(f"{HOST_GATEWAY_IP if ip == 'host-gateway' else ip}\t{name}\n")
    if host_config.get("NetworkMode") == "host":
        try:
            base = host_hosts.read_text()
        except OSError:
            base = DEFAULT_HOSTS
        if base and not base.endswith("\n"):
            base += "\n"
        return base + "".join(extra)
    hostname = effective_hostname(config, host_config)
    # with a loopback-only network namespace the container's own name resolves to loopback
    own = f"127.0.1.1\t{hostname}\n" if hostname else ""
    return DEFAULT_HOSTS + "".join(extra) + own


def resolv_content(host_config: dict[str, Any], host_resolv: Path) -> str:
    try:
        lines = host_resolv.read_text().splitlines()
    except OSError:
        lines = []
    own_netns = host_config.get("NetworkMode") != "host"
    dns = host_config.get("Dns") or []
    search = host_config.get("DnsSearch") or []
    options = host_config.get("DnsOptions") or []
    out: list[str] = []
    for line in lines:
        word = line.split()[0] if line.split() else ""
        if (
            dns
            and word == "nameserver"
            or search
            and word in ("search", "domain")
            or options
            and word == "options"
        ):
            continue
        if own_netns and _LOOPBACK_NS.match(line):
            continue  # the host's local resolver is unreachable from another network namespace
        out.append(line)
    out += [f"nameserver {ns}" for ns in dns]
    if search:
        out.append("search " + " ".join(search))
    if options:
        out.append("options " + " ".join(options))
    if not any(line.split()[:1] == ["nameserver"] for line in out):
        out += [f"nameserver {ns}" for ns in DEFAULT_NAMESERVERS]
    return "\n".join(out) + "\n"


def write_etc_files(
    state_dir: Path, config: dict[str, Any], host_config: dict[str, Any], host_etc: Path = Path("/etc")
) -> dict[str, Path]:
    """Write hosts, resolv.conf and hostname; return {container path: host file}."""
    files = {
        "/etc/hostname": (state_dir / "hostname", effective_hostname(config, host_config) + "\n"),
        "/etc/hosts": (state_dir / "hosts", hosts_content(config, host_config, host_etc / "hosts")),
        "/etc/resolv.conf": (
            state_dir / "resolv.conf",
            resolv_content(host_config, host_etc / "resolv.conf"),
        ),
    }
    for path, content in files.values():
        # not fsynced (as dockerd): every start writes them again before the container can read them
        replace_if_changed(path, content.encode())
    return {dest: path for dest, (path, _) in files.items()}
