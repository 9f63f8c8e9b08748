"""The container side of networking: a network namespace per container, one veth endpoint per network it
joins, published ports, the embedded DNS's view of names, /etc/hosts and resolv.conf, and the start-up
reconcile that finishes whatever a killed daemon left half done."""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import json
import logging
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.errors import Forbidden, InvalidParameter, NotFound
from engine.network import conntrack, etc, firewall, ipam, netlink, views
from engine.network.dns import DnsServer, Sockets, bind_sockets
from engine.network.model import Endpoint, EndpointConfig, Network
from engine.network.ports import PortHolder
from engine.network.proxy import Proxies
from engine.network.reaper import LinkReaper
from engine.network.store import Attachment, Membership, NetworkStore
from engine.network.traffic import Readiness, in_rotation, share_group

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


def _mode(host_config: dict[str, Any]) -> str:
    mode = host_config.get("NetworkMode") or "bridge"
    return "bridge" if mode == "default" else mode


def _own_netns(mode: str) -> bool:
    return mode not in ("host", "none") and not mode.startswith("container:")


def _mac_for(ip: str) -> str:
    # Docker's scheme: 02:42 + the IPv4 address, so a MAC never repeats on one bridge
    return "02:42:" + ":".join(f"{b:02x}" for b in ipaddress.IPv4Address(ip).packed)


def parse_links(host_config: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """HostConfig.Links ("/db:/web/alias" or "db:alias") -> (alias, target name)."""
    out = []
    for item in host_config.get("Links") or []:
        target, _, alias = str(item).partition(":")
        target = target.strip("/")
        alias = alias.rsplit("/", 1)[-1] or target
        out.append((alias, target))
    return tuple(out)


def _netns_in_use(path: str) -> bool:
    """Does any process still live in the namespace bound at `path`?"""
    try:
        st = os.stat(path)
    except OSError:
        return False
    if not os.path.ismount(path):
        return False
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            with contextlib.suppress(OSError):
                ns = os.stat(f"/proc/{pid}/ns/net")
                if ns.st_ino == st.st_ino and ns.st_dev == st.st_dev:
                    return True
    return False


class ContainerNetworking:
    # provided by NetworkService
    store: NetworkStore
    ports: PortHolder
    proxies: Proxies
    dns: DnsServer
    reaper: LinkReaper
    table: str
    containers_dir: Path
    default_bridge: str
    veth_prefix: str
    _lock: threading.RLock
    _up: set[str]  # bridges this process brought up (or checked) and has not deleted since
    _rr: itertools.count[int]
    _nets: dict[str, Network]
    _members: dict[str, Membership]
    _live: dict[str, Attachment]
    readiness: Readiness  # set by the containers service (engine.network.traffic)

    if TYPE_CHECKING:

        def get(self, ref: str) -> Network: ...
        def _bring_up(self, n: Network) -> Network: ...
        def _delete_doomed_bridges(self) -> None: ...
        def forget(self, cid: str) -> None: ...
        def mtu(self, n: Network) -> int: ...
        def _endpoints_on(self, nid: str) -> list[tuple[str, Endpoint]]: ...
        def on_create(
            self, cid: str, name: str, host_config: dict[str, Any], networking: dict[str, Any]
        ) -> None: ...
        @staticmethod
        def _endpoint_config(d: dict[str, Any]) -> EndpointConfig: ...

    def _is_default(self, nid: str) -> bool:
        n = self._nets.get(nid)
        return n is not None and n.name == "bridge"

    def _save_live(self, a: Attachment) -> None:
        self.store.save_attachment(a)
        self._live = {**self._live, a.cid: a}

    # ---- lifecycle ---------------------------------------------------------------------------------
    def attach(self, cid: str, name: str, config: dict[str, Any], host_config: dict[str, Any]) -> str | None:
        """Before the container's process starts: its namespace, endpoints and ports. Returns the netns path
        for the runtime to join (None: not ours to make - host, none, container:<id>)."""
        mode = _mode(host_config)
        if not _own_netns(mode):
            return None
        if cid not in self._members:
            self.on_create(cid, name, host_config, {})  # a container made before networking existed
        self.detach(cid)  # whatever a previous run left
        try:
            with self._lock:
                m = self._members[cid]
                ns = self.store.netns_path(cid)
                a = Attachment(
                    cid,
                    str(ns),
                    hostname=config.get("Hostname") or cid[:12],
                    links=parse_links(host_config),
                    upstreams=tuple(host_config.get("Dns") or ()),
                )
                specs = []
                for nid, cfg in m.networks.items():
                    a, spec = self._new_endpoint(a, nid, cfg)
                    specs.append(spec)
                if any(not self._nets[e.network_id].internal for e in a.endpoints):
                    group = share_group(config)
                    a = replace(a, ports=tuple(self.ports.allocate(cid, host_config, config, group)))
                # intent first: every name (netns, veths) and address is on disk before the kernel has it,
                # so a crash cannot leak them; one write instead of one per step
                self._save_live(a)
            # the kernel work runs outside the lock: other containers' starts plumb at the same time
            want_dns = self._wants_dns(a)
            sockets = netlink.plumb(ns, specs, True, self._dns_binder() if want_dns else None)
            with self._lock:
                self._apply_firewall()
                self._start_proxies(a)
        except BaseException:
            self.detach(cid)
            raise
        self._open_dns(a, sockets)
        return str(ns)

    def _group_on_disk(self, cid: str) -> str | None:
        """A container's share group from its record (daemon start: the containers service is not up yet)."""
        try:
            record = json.loads((self.containers_dir / cid / "config.v2.json").read_bytes())
        except (OSError, ValueError):
            return None
        return share_group(record.get("Config") or {})

    def _wants_dns(self, a: Attachment) -> bool:
        return any(not self._is_default(e.network_id) for e in a.endpoints) and not self.dns.is_open(a.cid)

    def _dns_binder(self) -> Callable[[], Sockets | None]:
        port = self.dns.port

        def bind() -> Sockets | None:
            try:
                return bind_sockets(port)
            except OSError:
                return None  # _open_dns tries again, and warns: no DNS never fails a start

        return bind

    def _start_proxies(self, a: Attachment) -> None:
        primary = next((e for e in a.endpoints if not self._nets[e.network_id].internal), None)
        if primary is not None:
            for m, sock in self.ports.ipv6_listeners(a.cid, a.ports):
                self.proxies.start(a.cid, sock, primary.ip, m.container_port)

    def _open_dns(self, a: Attachment, sockets: Sockets | None = None) -> None:
        if not self._wants_dns(a):
            for made in sockets or ():
                made.close()
            return
        try:
            self.dns.open(a.cid, Path(a.netns), list(a.upstreams), sockets)
        except OSError as e:
            log.warning("embedded dns not started container=%s error=%s", a.cid[:12], e)

    def _new_endpoint(
        self, a: Attachment, nid: str, cfg: EndpointConfig
    ) -> tuple[Attachment, netlink.VethSpec]:
        """An address and names for the container on network `nid` (under the lock; nothing made yet)."""
        n = self._nets.get(nid)
        if n is None:
            raise NotFound(f"network {nid} not found")
        if n.bridge not in self._up:
            n = self._bring_up(n)  # the default bridge is made on first use
        pool = n.pools[0]
        subnet = ipaddress.IPv4Network(pool.subnet)
        used = {e.ip for _, e in self._endpoints_on(nid)} | set(pool.aux.values())
        if cfg.ipv4:
            if not n.user_ipam:
                raise InvalidParameter(
                    "user specified IP address is supported only when connecting to "
                    "networks with user configured subnets"
                )
            ip = ipam.check_requested(subnet, cfg.ipv4, used, pool.gateway)
        else:
            rng = ipaddress.IPv4Network(pool.ip_range) if pool.ip_range else None
            ip = ipam.allocate(subnet, rng, used, pool.gateway)
        ip6 = gateway6 = ""
        prefixlen6 = 0
        if n.pools6:
            pool6 = n.pools6[0]
            subnet6 = ipaddress.IPv6Network(pool6.subnet)
            used6 = {e.ip6 for _, e in self._endpoints_on(nid) if e.ip6}
            if cfg.ipv6:
                if not n.user_ipam:
                    raise InvalidParameter(
                        "user specified IP address is supported only when connecting to "
                        "networks with user configured subnets"
                    )
                ip6 = ipam.check_requested6(subnet6, cfg.ipv6, used6, pool6.gateway)
            else:
                ip6 = ipam.allocate6(subnet6, used6, pool6.gateway)
            prefixlen6 = subnet6.prefixlen
            gateway6 = "" if n.internal else pool6.gateway
        elif cfg.ipv6:
            raise InvalidParameter(f"network {n.name} has no IPv6 (EnableIPv6) for address {cfg.ipv6}")
        taken = {e.ifname for e in a.endpoints}
        ifname = next(f"eth{i}" for i in itertools.count() if f"eth{i}" not in taken)
        routed = not n.internal and not any(not self._nets[e.network_id].internal for e in a.endpoints)
        ep = Endpoint(
            id=secrets.token_hex(32),
            network_id=nid,
            container_id=a.cid,
            ifname=ifname,
            host_veth=f"{self.veth_prefix}{secrets.token_hex(4)[:7]}",
            ip=ip,
            prefixlen=subnet.prefixlen,
            gateway="" if n.internal else pool.gateway,
            mac=cfg.mac or _mac_for(ip),
            ip6=ip6,
            prefixlen6=prefixlen6,
            gateway6=gateway6,
        )
        spec = netlink.VethSpec(
            ep.host_veth,
            n.bridge,
            ifname,
            ip,
            subnet.prefixlen,
            ep.mac,
            pool.gateway if routed else None,
            self.mtu(n),
            ip6,
            prefixlen6,
            gateway6 if routed and gateway6 else None,
        )
        return replace(a, endpoints=(*a.endpoints, ep)), spec

    def detach(self, cid: str) -> None:
        """After the container ended (or a failed start): everything attach made, gone. Idempotent."""
        self.dns.close(cid, wait=False)  # the namespace goes too: nothing will rebind its port
        self.proxies.stop(cid)  # before the sockets it serves are released
        self.ports.release(cid)
        a = self._live.get(cid)
        netlink.remove_netns(Path(a.netns) if a is not None else self.store.netns_path(cid))
        if a is None:
            return
        with self._lock:
            if cid not in self._live:
                return  # a concurrent detach finished first
            self.store.delete_attachment(cid)
            self._live = {k: v for k, v in self._live.items() if k != cid}
            self._apply_firewall()
        # the namespace is gone, and the kernel deletes its veth pairs; the reaper sees to any it keeps
        self.reaper.reap(e.host_veth for e in a.endpoints)

    def _apply_firewall(self, force: bool = False) -> None:
        bridges = []
        default_used = False
        for n in self._nets.values():
            if n.driver != "bridge":
                continue
            if n.name == "bridge":
                default_used = bool(self._endpoints_on(n.id))
                if not default_used and n.bridge not in self._up:
                    continue  # rules only for a default bridge that exists
            subnet6 = n.pools6[0].subnet if n.pools6 else ""
            bridges.append(firewall.BridgeRules(n.bridge, n.pools[0].subnet, n.internal, subnet6))
        # each host port -> its publishers' (cid, ip, port); several when a share group publishes it together
        published: dict[tuple[str, str, int], list[tuple[str, str, int]]] = {}
        for a in self._live.values():
            primary = next((e for e in a.endpoints if not self._nets[e.network_id].internal), None)
            if primary is None:
                continue
            for p in a.ports:
                if ":" in p.host_ip:
                    continue  # IPv6 host addresses: the userland proxy
                published.setdefault((p.proto, p.host_ip, p.host_port), []).append(
                    (a.cid, primary.ip, p.container_port)
                )
        forwards = []
        for (proto, host_ip, host_port), backends in published.items():
            chosen = set(in_rotation([cid for cid, _, _ in backends], self.readiness))
            ips = [ip for cid, ip, _ in backends if cid in chosen]
            port = next(port for cid, _, port in backends if cid in chosen)
            forwards.append(firewall.Forward(proto, host_ip, host_port, ips[0], port, tuple(ips[1:])))
        firewall.apply(self.table, bridges, forwards, force)
        if force and not default_used and self.default_bridge not in self._up:
            netlink.delete_link(self.default_bridge)  # a dead daemon's unused one (reconcile)

    def refresh_traffic(self) -> None:
        """A member's readiness changed (health, a stop beginning): new connections follow it."""
        with self._lock:
            self._apply_firewall()

    def open_connections(self, cid: str) -> int:
        """TCP connections to the container's published ports not finished yet (0 when the kernel does not
        show its connection table): a member out of rotation is stopped once they are done."""
        a = self._live.get(cid)
        ports = {p.container_port for p in a.ports if p.proto == "tcp"} if a is not None else set()
        table = conntrack.read() if ports else None
        if a is None or table is None:
            return 0
        return conntrack.open_to(table, {e.ip for e in a.endpoints}, ports)

    # ---- connect / disconnect ----------------------------------------------------------------------
    def connect(
        self, ref: str, cid: str, name: str, running: bool, host_config: dict[str, Any], body: dict[str, Any]
    ) -> None:
        n = self.get(ref)
        mode = _mode(host_config)
        if n.driver == "host" or mode == "host":
            raise Forbidden("container cannot be disconnected from host network or connected to host network")
        if n.driver != "bridge" or not _own_netns(mode):
            raise Forbidden(
                "container sharing network namespace with another container or host cannot be "
                "connected to any other network"
            )
        cfg = self._endpoint_config(body or {})
        with self._lock:
            m = self._members.get(cid) or Membership(cid, name.lstrip("/"), {})
            if n.id in m.networks:
                raise Forbidden(f"endpoint with name {m.name} already exists in network {n.name}")
            new = replace(m, networks={**m.networks, n.id: cfg})
            a = self._live.get(cid)
            if running and a is not None:
                a, spec = self._new_endpoint(a, n.id, cfg)
                self._save_live(a)  # recorded before the veth exists, so a crash cannot leak it
                netlink.plumb(Path(a.netns), [spec], False)
                self._apply_firewall()
            self.store.save_membership(new)
            self._members = {**self._members, cid: new}
        if running and a is not None:
            self._open_dns(a)

    def disconnect(self, ref: str, cid: str, name: str, force: bool) -> None:
        n = self.get(ref)
        with self._lock:
            m = self._members.get(cid)
            if m is None or n.id not in m.networks:  # with or without force, as dockerd
                raise Forbidden(f"container {cid} is not connected to network {n.name}")
            a = self._live.get(cid)
            if a is not None:
                for e in a.endpoints:
                    if e.network_id == n.id:
                        netlink.delete_link(e.host_veth)
                a = replace(a, endpoints=tuple(e for e in a.endpoints if e.network_id != n.id))
                self._save_live(a)
            new = replace(m, networks={k: v for k, v in m.networks.items() if k != n.id})
            self.store.save_membership(new)
            self._members = {**self._members, cid: new}
            self._apply_firewall()

    # ---- what the container sees --------------------------------------------------------------------
    def settings(self, cid: str, config: dict[str, Any], host_config: dict[str, Any]) -> dict[str, Any]:
        """NetworkSettings of `docker inspect`."""
        mode = _mode(host_config)
        a = self._live.get(cid)
        m = self._members.get(cid)
        networks: dict[str, Any] = {}
        if mode in ("host", "none"):
            with contextlib.suppress(NotFound):
                networks[mode] = views.endpoint_settings(self.get(mode), EndpointConfig(), None, None)
        elif m is not None:
            for nid, cfg in m.networks.items():
                n = self._nets.get(nid)
                if n is None:
                    continue
                ep = next((e for e in a.endpoints if e.network_id == nid), None) if a else None
                names = None if n.name == "bridge" else [m.name, *cfg.aliases, cid[:12]] if ep else None
                networks[n.name] = views.endpoint_settings(n, cfg, ep, names)
        primary = None
        if a is not None:
            primary = next((e for e in a.endpoints if self._is_default(e.network_id)), None)
        ports = views.ports_json(a.ports, config.get("ExposedPorts") or {}) if a else {}
        return views.settings_json(
            self.default_bridge if primary else "", a.netns if a else "", networks, primary, ports
        )

    def ps_ports(self, cid: str, config: dict[str, Any]) -> list[dict[str, Any]]:
        a = self._live.get(cid)
        return views.ps_ports(a.ports if a else (), config.get("ExposedPorts") or {})

    def write_etc(
        self, cid: str, files: dict[str, Path], config: dict[str, Any], host_config: dict[str, Any]
    ) -> None:
        """Rewrite the container's hosts and resolv.conf (made by the containers service) for its networks."""
        a = self._live.get(cid)
        if a is None or not a.endpoints:
            return
        first = a.endpoints[0]
        gateway = next((e.gateway for e in a.endpoints if e.gateway), first.gateway)
        links = []
        for alias, target in a.links:
            ips = [ip for ip in self._lookup_on(cid, target, default_only=True) if ":" not in ip]
            if ips:
                # dockerd's names for a legacy link: the alias, the target's hostname, its name (unless the
                # alias is that name)
                names = self._hostname_of(target) + ("" if alias == target else f" {target}")
                links.append((ips[0], alias, names.strip() or target))
        hostname = config.get("Hostname") or cid[:12]
        if config.get("Domainname"):
            hostname = f"{hostname}.{config['Domainname']}"
        from engine.util.atomic import replace_if_changed

        if "/etc/hosts" in files:
            content = etc.hosts(hostname, first.ip, gateway, list(host_config.get("ExtraHosts") or []), links,
                                first.ip6)
            replace_if_changed(files["/etc/hosts"], content.encode())
        if "/etc/resolv.conf" in files:
            embedded = any(not self._is_default(e.network_id) for e in a.endpoints)
            try:
                current = files["/etc/resolv.conf"].read_text()
            except OSError:
                current = ""
            replace_if_changed(files["/etc/resolv.conf"], etc.resolv(current, host_config, embedded).encode())

    def _hostname_of(self, name: str) -> str:
        """The hostname of the running container called `name` ("" if there is none)."""
        cid = next((cid for cid, m in self._members.items() if m.name == name), "")
        a = self._live.get(cid)
        return a.hostname if a is not None else ""

    def relink(self, cid: str, host_config: dict[str, Any]) -> None:
        """The container's legacy links changed (`docker rm --link`): its live names follow."""
        with self._lock:
            a = self._live.get(cid)
            if a is not None:
                a = replace(a, links=parse_links(host_config))
                self._save_live(a)

    # ---- the embedded DNS's questions (called on the event loop: read-only, no lock) ---------------
    def _lookup_on(self, cid: str, qname: str, default_only: bool = False) -> list[str]:
        live, members = self._live, self._members
        a = live.get(cid)
        if a is None:
            return []
        name = qname.rstrip(".").lower()
        mine = {e.network_id for e in a.endpoints if self._is_default(e.network_id) == default_only}
        if not default_only:
            for alias, target in a.links:
                if alias.lower() == name:
                    name = target.lower()
        found: list[tuple[str, str]] = []
        for other in live.values():
            om = members.get(other.cid)
            if om is None:
                continue
            for e in other.endpoints:
                if e.network_id not in mine:
                    continue
                cfg = om.networks.get(e.network_id, EndpointConfig())
                names = {om.name.lower(), other.cid[:12], *(x.lower() for x in cfg.aliases)}
                if name in names:
                    found.append((other.cid, e.ip))
                    if e.ip6:  # answered to AAAA questions (the DNS server sorts the families)
                        found.append((other.cid, e.ip6))
        if len({cid for cid, _ in found}) > 1:  # a service name: its ready members (engine.network.traffic)
            chosen = set(in_rotation([cid for cid, _ in found], self.readiness))
            found = [(cid, ip) for cid, ip in found if cid in chosen]
        return [ip for _, ip in found]

    def _lookup(self, cid: str, qname: str) -> list[str] | None:
        ips = self._lookup_on(cid, qname)
        if not ips:
            return None
        k = next(self._rr) % len(ips)  # round robin over replicas
        return ips[k:] + ips[:k]

    def _reverse(self, cid: str, ip: str) -> str | None:
        a = self._live.get(cid)
        if a is None:
            return None
        mine = {e.network_id for e in a.endpoints if not self._is_default(e.network_id)}
        for other in self._live.values():
            om = self._members.get(other.cid)
            for e in other.endpoints:
                if e.ip == ip and e.network_id in mine and om is not None:
                    return f"{om.name}.{self._nets[e.network_id].name}"
        return None

    # ---- daemon start --------------------------------------------------------------------------------
    def reconcile(self) -> None:
        """Finish what a killed daemon left: attachments of dead containers, missing bridges, leaked veths,
        stale namespaces, ports, rules; reopen the embedded DNS of the living."""
        with self._lock:
            self._up.clear()  # look at the kernel again
            for m in list(self._members.values()):
                if not (self.containers_dir / m.cid / "config.v2.json").exists():
                    self.forget(m.cid)  # removed (or never finished creating) while we were away
            for a in list(self._live.values()):
                if not _netns_in_use(a.netns):
                    log.info("releasing network of ended container container=%s", a.cid[:12])
                    self.detach(a.cid)
            for n in self._nets.values():
                if n.driver == "bridge" and (n.name != "bridge" or self._endpoints_on(n.id)):
                    self._bring_up(n)
            self._delete_doomed_bridges()
            known = {e.host_veth for a in self._live.values() for e in a.endpoints}
            for veth in netlink.list_links(self.veth_prefix):
                if veth not in known:
                    log.info("removing leaked veth name=%s", veth)
                    netlink.delete_link(veth)
            namespaces = {Path(a.netns).name for a in self._live.values()}
            for p in self.store.netns_dir.iterdir():
                if p.name not in namespaces:
                    netlink.remove_netns(p)
            for a in self._live.values():
                self.ports.readopt(a.cid, a.ports, self._group_on_disk(a.cid))
                self._start_proxies(a)
            self._apply_firewall(force=True)  # whatever the kernel has now, it gets our rules
            living = list(self._live.values())
        for a in living:
            self._open_dns(a)
