"""Published ports: HostConfig.PortBindings (+ PublishAllPorts) turned into concrete mappings, each host port
held by a bound socket of the daemon so nothing else can take it (and so an ephemeral port is picked by the
kernel, as for any program). Traffic itself goes through the kernel's DNAT (see firewall)."""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
import threading
from collections.abc import Iterable
from typing import Any

from engine.errors import Conflict, InvalidParameter
from engine.network.model import PortMapping

log = logging.getLogger(__name__)


def parse_port_key(key: str) -> tuple[int, str]:
    port, _, proto = key.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp"):
        raise InvalidParameter(f"invalid protocol {proto!r} in port {key!r} (tcp and udp are supported)")
    try:
        n = int(port)
    except ValueError:
        raise InvalidParameter(f"invalid port {key!r}") from None
    if not 0 < n < 65536:
        raise InvalidParameter(f"invalid port {key!r}")
    return n, proto


def _host_range(text: str) -> tuple[int, int]:
    text = (text or "").strip()
    if not text:
        return 0, 0
    lo, _, hi = text.partition("-")
    try:
        a, b = int(lo), int(hi or lo)
    except ValueError:
        raise InvalidParameter(f"invalid host port {text!r}") from None
    if not (0 <= a <= b < 65536):
        raise InvalidParameter(f"invalid host port range {text!r}")
    return a, b


def _host_ip(text: str) -> str:
    text = (text or "").strip().strip("[]")
    if text in ("", "0.0.0.0"):
        return ""
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        raise InvalidParameter(f"invalid host IP {text!r}") from None
    if addr.version == 6 and addr.is_unspecified:
        return "::"
    return str(addr)


PortKey = tuple[str, str, int]  # proto, host ip ("" = every IPv4 address), host port


def _key_of(sock: socket.socket) -> PortKey:
    ip, port = sock.getsockname()[:2]
    return ("tcp" if sock.type == socket.SOCK_STREAM else "udp", "" if ip == "0.0.0.0" else ip, port)


class PortHolder:
    """Bound sockets per container. Thread-safe; `release` is idempotent.

    Containers of one share group (the same Compose project and service, see engine.network.traffic) may
    publish the same fixed host port: the first holds the socket, the others join it, and the firewall
    spreads new connections over the members (a start-first update runs old and new side by side). The
    socket passes to a remaining member when its holder goes."""

    def __init__(self) -> None:
        self._held: dict[str, list[socket.socket]] = {}
        self._owners: dict[PortKey, list[tuple[str, str]]] = {}  # key -> [(cid, group)], the holder first
        self._keys: dict[socket.socket, PortKey] = {}  # noted at bind: a proxy may close the socket first
        self._lock = threading.Lock()

    def _join(self, cid: str, group: str | None, key: PortKey) -> bool:
        """Join a port a member of `group` holds (under the lock)."""
        owners = self._owners.get(key)
        if not group or not owners or any(g != group for _, g in owners):
            return False
        if all(c != cid for c, _ in owners):
            owners.append((cid, group))
        return True

    def allocate(
        self, cid: str, host_config: dict[str, Any], config: dict[str, Any], group: str | None = None
    ) -> list[PortMapping]:
        wanted: list[tuple[int, str, str, tuple[int, int]]] = []
        bindings = dict(host_config.get("PortBindings") or {})
        if host_config.get("PublishAllPorts"):
            for key in config.get("ExposedPorts") or {}:
                bindings.setdefault(key, [{"HostIp": "", "HostPort": ""}])
        for key, items in sorted(bindings.items()):
            cport, proto = parse_port_key(key)
            for item in items or [{}]:
                ip = _host_ip((item or {}).get("HostIp", ""))
                if ip == "::":
                    continue  # "all IPv6 addresses": published on IPv4 only (explicit IPv6 addresses work)
                wanted.append((cport, proto, ip, _host_range((item or {}).get("HostPort", ""))))
        self.release(cid)
        out, socks, joined = [], [], []
        try:
            for cport, proto, ip, (lo, hi) in wanted:
                try:
                    port, sock = _reserve(proto, ip, lo, hi)
                except Conflict:
                    with self._lock:
                        if not (lo == hi and self._join(cid, group, (proto, ip, lo))):
                            raise
                    joined.append((proto, ip, lo))
                    out.append(PortMapping(container_port=cport, proto=proto, host_ip=ip, host_port=lo))
                    continue
                socks.append(sock)
                out.append(PortMapping(container_port=cport, proto=proto, host_ip=ip, host_port=port))
                if ip == "" and _has_ipv6():
                    # as dockerd: "all addresses" is [::] too, the same port (served by the userland proxy)
                    try:
                        socks.append(_reserve(proto, "::", port, port)[1])
                    except (Conflict, InvalidParameter) as e:
                        log.warning("port not published on IPv6 port=%s error=%s", port, e)
                        continue
                    out.append(PortMapping(container_port=cport, proto=proto, host_ip="::", host_port=port))
        except BaseException:
            for s in socks:
                s.close()
            with self._lock:
                self._leave(cid, joined)
            raise
        with self._lock:
            self._held[cid] = socks
            for sock in socks:
                key = self._keys[sock] = _key_of(sock)
                self._owners[key] = [(cid, group or "")]
        return out

    def _leave(self, cid: str, keys: Iterable[PortKey]) -> None:
        for key in keys:
            owners = [o for o in self._owners.get(key, []) if o[0] != cid]
            if owners:
                self._owners[key] = owners
            else:
                self._owners.pop(key, None)

    def readopt(self, cid: str, mappings: Iterable[PortMapping], group: str | None = None) -> None:
        """After a daemon restart: take the recorded ports again (best effort: the DNAT keeps working)."""
        socks = []
        for m in mappings:
            try:
                sock = _reserve(m.proto, m.host_ip, m.host_port, m.host_port)[1]
            except Conflict:
                with self._lock:
                    self._join(cid, group, (m.proto, m.host_ip, m.host_port))
                continue
            socks.append(sock)
            with self._lock:
                key = self._keys[sock] = _key_of(sock)
                self._owners[key] = [(cid, group or "")]
        with self._lock:
            self._held[cid] = socks

    def members(self, key: PortKey) -> list[str]:
        """The containers publishing this host port (one, or a share group's members)."""
        with self._lock:
            return [c for c, _ in self._owners.get(key, [])]

    def ipv6_listeners(
        self, cid: str, mappings: Iterable[PortMapping]
    ) -> list[tuple[PortMapping, socket.socket]]:
        """The held sockets of IPv6 mappings, TCP and UDP (served by the userland proxy: kernel DNAT here is
        IPv4 only)."""
        with self._lock:
            socks = list(self._held.get(cid, []))
        out = []
        for m in mappings:
            if ":" not in m.host_ip:
                continue
            for sock in socks:
                if sock.family == socket.AF_INET6 and _key_of(sock)[0] == m.proto \
                        and sock.getsockname()[1] == m.host_port:
                    out.append((m, sock))
        return out

    def release(self, cid: str) -> None:
        closing = []
        with self._lock:
            for sock in self._held.pop(cid, []):
                key = self._keys.get(sock)
                if key is None:
                    closing.append(sock)
                    continue
                heirs = [o for o in self._owners.get(key, []) if o[0] != cid]
                if heirs:  # a member of the share group still publishes it: the socket is theirs now
                    self._held.setdefault(heirs[0][0], []).append(sock)
                    self._owners[key] = heirs
                else:
                    self._owners.pop(key, None)
                    self._keys.pop(sock, None)
                    closing.append(sock)
            self._leave(cid, [k for k, owners in self._owners.items() if any(c == cid for c, _ in owners)])
        for s in closing:
            s.close()

    def release_all(self) -> None:
        with self._lock:
            cids = list(self._held)
        for cid in cids:
            self.release(cid)


def _reserve(proto: str, ip: str, lo: int, hi: int) -> tuple[int, socket.socket]:
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    last: OSError | None = None
    for port in range(lo, hi + 1):
        sock = socket.socket(family, kind)
        if family == socket.AF_INET6:  # never the IPv4 port of the same number too
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if family == socket.AF_INET6 and kind == socket.SOCK_STREAM:
            # this one will listen (the proxy): its past connections' TIME_WAITs must not block a rebind
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip or "0.0.0.0", port))
        except OSError as e:
            sock.close()
            last = e
            if e.errno == errno.EADDRNOTAVAIL:
                raise InvalidParameter(f"host IP {ip} is not an address of this host") from None
            continue
        return sock.getsockname()[1], sock
    where = f"{ip or '0.0.0.0'}:{lo if lo == hi else f'{lo}-{hi}'}"
    reason = last.strerror if last else "no free port"
    raise Conflict(
        f"driver failed programming external connectivity: Bind for {where} failed: {reason.lower()}"
        if reason
        else f"Bind for {where} failed: port is already allocated"
    )


def _has_ipv6() -> bool:
    """Can this host bind IPv6 sockets (the module loaded, not disabled)?"""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False
