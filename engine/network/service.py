"""NetworkService: networks (create/list/inspect/remove/prune/connect/disconnect) and the network side of a
container's life (attach before its process starts, detach after it ends, reconcile at daemon start).

Blocking methods run in the daemon's worker threads; one lock orders them. The embedded DNS server answers
from the event loop and reads `_nets`/`_members`/`_live`, which are only ever replaced whole (never mutated)
so the loop never waits for the lock.
"""

from __future__ import annotations

import hashlib
import ipaddress
import itertools
import logging
import re
import secrets
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.config import ConfigError
from engine.errors import Conflict, Forbidden, InvalidParameter, NotFound, SystemError_
from engine.network import firewall, ipam, netlink, views
from engine.network.attach import ContainerNetworking
from engine.network.dns import DnsServer, host_nameservers
from engine.network.model import PREDEFINED, Endpoint, EndpointConfig, IPAMPool, Network
from engine.network.ports import PortHolder
from engine.network.proxy import Proxies
from engine.network.reaper import LinkReaper
from engine.network.store import Attachment, Membership, NetworkStore
from engine.network.traffic import Readiness

log = logging.getLogger(__name__)

DEFAULT_DATA_ROOT = Path("/var/lib/composer")
# Docker uses 1500. Host <-> container traffic never leaves the machine, and with 1500 every 64 KiB the
# sender hands down is cut into 45 frames through veth, bridge and conntrack (~0.65 of loopback in
# bench/network_throughput.py); with loopback's own size it runs at loopback speed. Traffic routed out of
# the host still gets the outside's MSS/PMTU. podman's pasta makes the same choice (65520).
DEFAULT_MTU = 65520


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _mode_network(host_config: dict[str, Any]) -> str:
    mode = host_config.get("NetworkMode") or "bridge"
    return "bridge" if mode == "default" else mode


def kernel_names(data_root: Path) -> tuple[str, str, str]:
    """(default bridge, nft table, veth prefix) of the engine on `data_root`: per-engine names, so engines
    side by side (tests) and a real dockerd never share kernel objects."""
    tag = hashlib.sha256(str(data_root.resolve()).encode()).hexdigest()
    if data_root.resolve() == DEFAULT_DATA_ROOT:
        return "composer0", "composer", f"ve{tag[:4]}"
    return f"cb{tag[:8]}", f"composer_{tag[:8]}", f"ve{tag[:4]}"


def sweep(data_root: Path, exec_root: Path) -> None:
    """Remove every kernel object an engine on these roots may have made (its daemon is gone): bridges,
    veths, namespaces, the nft table. For test teardown and `composer engine` uninstall paths."""
    default_bridge, table, veth_prefix = kernel_names(data_root)
    store = NetworkStore(data_root, exec_root)
    for veth in netlink.list_links(veth_prefix):
        netlink.delete_link(veth)
    for p in store.netns_dir.iterdir():
        netlink.remove_netns(p)
    for n in store.networks():
        if n.bridge:
            netlink.delete_link(n.bridge)
    for name in store.doomed_bridges():
        netlink.delete_link(name)
        store.bridge_gone(name)
    netlink.delete_link(default_bridge)
    firewall.remove(table)


class NetworkService(ContainerNetworking):
    def __init__(
        self,
        data_root: Path,
        exec_root: Path,
        resolv_conf: Path = Path("/etc/resolv.conf"),
        default_ipv6: str = "",
    ) -> None:
        self.store = NetworkStore(data_root, exec_root)
        self.containers_dir = data_root / "containers"  # engine.containers records, see engine-contracts
        self.resolv_conf = resolv_conf
        self.default_bridge, self.table, self.veth_prefix = kernel_names(data_root)
        self.ports = PortHolder()
        self.readiness: Readiness = lambda cid: True  # the containers service tells (engine.network.traffic)
        self.dns = DnsServer(self._lookup, self._reverse, host_nameservers(resolv_conf))
        self.proxies = Proxies(lambda: self.dns.loop)  # IPv6-published ports, on the same loop
        self.reaper = LinkReaper(netlink.delete_link)
        self._lock = threading.RLock()
        self._up: set[str] = set()
        self._rr = itertools.count()
        self._nets: dict[str, Network] = {n.id: n for n in self.store.networks()}
        self._members: dict[str, Membership] = {m.cid: m for m in self.store.memberships()}
        self._live: dict[str, Attachment] = {a.cid: a for a in self.store.attachments()}
        self._ensure_predefined()
        self._configure_default_ipv6(default_ipv6)

    # ---- networks --------------------------------------------------------------------------------
    def _ensure_predefined(self) -> None:
        have = {n.name for n in self._nets.values()}
        for name, driver in (("bridge", "bridge"), ("host", "host"), ("none", "null")):
            if name in have:
                continue
            pools: tuple[IPAMPool, ...] = ()
            if driver == "bridge":
                subnet = ipam.choose_subnet(self._used_subnets())
                pools = (IPAMPool(str(subnet), ipam.default_gateway(subnet)),)
            n = Network(
                id=secrets.token_hex(32),
                name=name,
                driver=driver,
                created=_now(),
                bridge=self.default_bridge if driver == "bridge" else "",
                pools=pools,
                options={views.DRIVER_OPTION_BRIDGE: self.default_bridge} if driver == "bridge" else {},
            )
            self.store.save_network(n)
            self._nets = {**self._nets, n.id: n}

    def _configure_default_ipv6(self, subnet: str) -> None:
        """--ipv6 --fixed-cidr-v6 (dockerd's daemon options): the default bridge network's IPv6 subnet,
        gateway its first address; the record follows the daemon's options at every start, as dockerd's."""
        default = next((n for n in self._nets.values() if n.name == "bridge" and n.driver == "bridge"), None)
        if default is None:
            return
        pools6 = (IPAMPool(subnet, str(ipaddress.IPv6Network(subnet).network_address + 1)),) if subnet else ()
        if default.pools6 == pools6:
            return
        if pools6:
            used = [ipaddress.IPv6Network(p.subnet) for n in self._nets.values() if n.id != default.id
                    for p in n.pools6]
            if any(ipaddress.IPv6Network(subnet).overlaps(u) for u in used):
                raise ConfigError(f"--fixed-cidr-v6 {subnet} overlaps the IPv6 subnet of another network")
        n = replace(default, pools6=pools6)
        self.store.save_network(n)
        self._nets = {**self._nets, n.id: n}

    def _used_subnets(self) -> list[ipaddress.IPv4Network]:
        used = netlink.host_networks()
        for n in self._nets.values():
            used += [ipaddress.IPv4Network(p.subnet) for p in n.pools]
        return used

    def get(self, ref: str) -> Network:
        nets = self._nets
        if ref in nets:
            return nets[ref]
        for n in nets.values():
            if n.name == ref:
                return n
        found = [n for n in nets.values() if n.id.startswith(ref)] if ref else []
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise InvalidParameter(
                f"network {ref} is ambiguous ({len(found)} matches found based on ID prefix)"
            )
        raise NotFound(f"network {ref} not found")

    def create(self, body: dict[str, Any]) -> Network:
        name = str(body.get("Name") or "").strip()
        if not name:
            raise InvalidParameter("network name is required")
        driver = body.get("Driver") or "bridge"
        if driver != "bridge":
            if driver in ("host", "null"):
                raise Forbidden(f'only one instance of "{driver}" network is allowed')
            raise NotFound(f'plugin "{driver}" not found')
        options = {str(k): str(v) for k, v in (body.get("Options") or {}).items()}
        mtu = options.get(views.DRIVER_OPTION_MTU, "0")
        if not mtu.isdigit() or int(mtu) and not 68 <= int(mtu) <= 65535:
            raise InvalidParameter(f"invalid MTU {mtu!r}")
        ipam_body = body.get("IPAM") or {}
        if (ipam_body.get("Driver") or "default") != "default":
            raise NotFound(f'plugin "{ipam_body["Driver"]}" not found')
        with self._lock:
            if any(n.name == name for n in self._nets.values()):
                raise Conflict(f"network with name {name} already exists")
            nid = secrets.token_hex(32)
            configs = list(ipam_body.get("Config") or [])
            v6 = [c for c in configs if ":" in str(c.get("Subnet") or "")]
            if v6 and not body.get("EnableIPv6"):
                raise InvalidParameter("IPv6 subnet given but EnableIPv6 is not set")
            pools = self._pools([c for c in configs if c not in v6])
            pools6 = self._pools6(v6) if body.get("EnableIPv6") else ()
            bridge = options.get(views.DRIVER_OPTION_BRIDGE) or f"br-{nid[:12]}"
            if len(bridge) > 15:
                raise InvalidParameter(f"bridge name {bridge!r} is longer than 15 characters")
            if self.reaper.take(bridge):  # a removed network's bridge, still queued: gone before reuse
                netlink.delete_link(bridge)
                self.store.bridge_gone(bridge)
            if any(n.bridge == bridge for n in self._nets.values()) or netlink.link_exists(bridge):
                raise Conflict(f"bridge name {bridge} is already in use")
            n = Network(
                id=nid,
                name=name,
                driver="bridge",
                created=_now(),
                bridge=bridge,
                internal=bool(body.get("Internal")),
                attachable=bool(body.get("Attachable")),
                labels={str(k): str(v) for k, v in (body.get("Labels") or {}).items()},
                options=options,
                pools=pools,
                ipam_driver_options=dict(ipam_body.get("Options") or {}),
                user_ipam=bool(ipam_body.get("Config")),
                pools6=pools6,
            )
            self.store.save_network(n)  # the record first: a crash leaves something reconcile can remove
            self._nets = {**self._nets, n.id: n}
            try:
                self._bring_up(n)
                self._apply_firewall()
            except BaseException:
                self._delete_network(n)
                raise
            return n

    def _pools(self, config: list[dict[str, Any]]) -> tuple[IPAMPool, ...]:
        if not config:
            subnet = ipam.choose_subnet(self._used_subnets())
            return (IPAMPool(str(subnet), ipam.default_gateway(subnet)),)
        if len(config) > 1:
            raise InvalidParameter("only one IPv4 IPAM config per network is supported by this engine")
        item = config[0]
        if not item.get("Subnet"):
            raise InvalidParameter("IPAM config needs a Subnet")
        subnet = ipam.parse_net(item["Subnet"])
        for n in self._nets.values():
            for p in n.pools:
                if ipaddress.IPv4Network(p.subnet).overlaps(subnet):
                    raise Forbidden(f"Pool overlaps with other one on this address space ({n.name})")
        gateway = item.get("Gateway") or ipam.default_gateway(subnet)
        try:
            if ipaddress.IPv4Address(gateway) not in subnet:
                raise InvalidParameter(f"no matching subnet for gateway {gateway}")
        except ValueError:
            raise InvalidParameter(f"invalid gateway {gateway!r}") from None
        ip_range = ""
        if item.get("IPRange"):
            rng = ipam.parse_net(item["IPRange"], "ip range")
            if not rng.subnet_of(subnet):
                raise InvalidParameter(f"ip range {rng} is not inside subnet {subnet}")
            ip_range = str(rng)
        aux: dict[str, str] = {}
        for host, address in (item.get("AuxiliaryAddresses") or {}).items():
            try:
                inside = ipaddress.IPv4Address(address) in subnet
            except ValueError:
                raise InvalidParameter(f"invalid auxiliary address {host}={address!r}") from None
            if not inside:
                raise InvalidParameter(
                    f"auxiliary address: ({host}:{address}) must belong to the master pool: {subnet}"
                )
            aux[str(host)] = str(address)
        return (IPAMPool(str(subnet), gateway, ip_range, aux),)

    def _pools6(self, config: list[dict[str, Any]]) -> tuple[IPAMPool, ...]:
        """An IPv6 network's subnet: given, or a ULA /64 of our own (as newer dockerd's default pool)."""
        used = [ipaddress.IPv6Network(p.subnet) for n in self._nets.values() for p in n.pools6]
        if not config:
            subnet = ipam.ula_subnet(used, secrets.randbits(56))
            return (IPAMPool(str(subnet), str(subnet.network_address + 1)),)
        if len(config) > 1:
            raise InvalidParameter("only one IPv6 IPAM config per network is supported by this engine")
        subnet = ipam.parse_net6(str(config[0]["Subnet"]))
        if any(subnet.overlaps(u) for u in used):
            raise Forbidden("Pool overlaps with other one on this address space")
        gateway = str(config[0].get("Gateway") or subnet.network_address + 1)
        try:
            if ipaddress.IPv6Address(gateway) not in subnet:
                raise InvalidParameter(f"no matching subnet for gateway {gateway}")
        except ValueError:
            raise InvalidParameter(f"invalid gateway {gateway!r}") from None
        return (IPAMPool(str(subnet), gateway),)

    def _bring_up(self, n: Network) -> Network:
        if n.name == "bridge" and not netlink.link_exists(n.bridge):
            n = self._repick_default(n)
        pool = n.pools[0]
        pool6 = n.pools6[0] if n.pools6 else None
        netlink.ensure_bridge(
            n.bridge,
            pool.gateway,
            ipaddress.IPv4Network(pool.subnet).prefixlen,
            self.mtu(n),
            pool6.gateway if pool6 else "",
            ipaddress.IPv6Network(pool6.subnet).prefixlen if pool6 else 0,
        )
        # the host's own connections to 127.0.0.1-published ports are routed into the bridge (DNAT)
        netlink.set_sysctl(f"net/ipv4/conf/{n.bridge}/route_localnet", "1")
        netlink.set_sysctl("net/ipv4/ip_forward", "1")  # as dockerd does with its first bridge
        self._up.add(n.bridge)  # container starts skip the checks above until the bridge is deleted
        return n

    def _repick_default(self, n: Network) -> Network:
        """The default bridge is made on first use: its subnet is checked against the host's routes again
        then (another engine may have taken it meanwhile) and moved if it now collides."""
        subnet = ipaddress.IPv4Network(n.pools[0].subnet)
        host = netlink.host_networks()
        if not any(subnet.overlaps(h) for h in host if h.prefixlen > 0):
            return n
        others = [
            ipaddress.IPv4Network(p.subnet) for m in self._nets.values() if m.id != n.id for p in m.pools
        ]
        new = ipam.choose_subnet(host + others)
        n = replace(n, pools=(IPAMPool(str(new), ipam.default_gateway(new)),))
        self.store.save_network(n)
        self._nets = {**self._nets, n.id: n}
        log.info("default bridge subnet moved subnet=%s", new)
        return n

    @staticmethod
    def mtu(n: Network) -> int:
        """Docker's com.docker.network.driver.mtu option, else DEFAULT_MTU."""
        try:
            return int(n.options.get(views.DRIVER_OPTION_MTU, "")) or DEFAULT_MTU
        except ValueError:
            return DEFAULT_MTU

    def _endpoints_on(self, nid: str) -> list[tuple[str, Endpoint]]:
        return [(a.cid, e) for a in self._live.values() for e in a.endpoints if e.network_id == nid]

    def remove(self, ref: str) -> None:
        with self._lock:
            n = self.get(ref)
            if n.name in PREDEFINED:
                raise Forbidden(f"{n.name} is a pre-defined network and cannot be removed")
            if self._endpoints_on(n.id):
                raise Forbidden(
                    f"error while removing network: network {n.name} id {n.id} has active endpoints"
                )
            self._delete_network(n)
            self._apply_firewall()

    def _delete_network(self, n: Network) -> None:
        # the bridge goes in the background (an RCU grace period the caller need not wait for); the
        # tombstone, written before the record goes, finishes the job if the daemon dies meanwhile
        self.store.doom_bridge(n.bridge)
        self._up.discard(n.bridge)
        self.store.delete_network(n.id)
        self._nets = {k: v for k, v in self._nets.items() if k != n.id}
        self.reaper.reap([n.bridge], grace=0, done=self.store.bridge_gone)

    def _delete_doomed_bridges(self) -> None:
        """Bridges of networks removed while a daemon was going away (reconcile, sweep)."""
        in_use = {n.bridge for n in self._nets.values()}
        for name in self.store.doomed_bridges():
            if name not in in_use:
                netlink.delete_link(name)
            self.store.bridge_gone(name)

    def find(self, filters: dict[str, list[str]]) -> list[Network]:
        for key in filters:
            if key not in ("name", "id", "label", "driver", "type", "scope", "dangling"):
                raise InvalidParameter(f"invalid filter '{key}'")
        return [n for n in sorted(self._nets.values(), key=lambda n: n.created) if self._matches(n, filters)]

    def _matches(self, n: Network, f: dict[str, list[str]]) -> bool:
        if "name" in f and not any(v in n.name for v in f["name"]):
            return False
        if "id" in f and not any(n.id.startswith(v) for v in f["id"]):
            return False
        if "driver" in f and n.driver not in f["driver"]:
            return False
        if "scope" in f and "local" not in f["scope"]:
            return False
        if "type" in f:
            kind = "builtin" if n.name in PREDEFINED else "custom"
            if kind not in f["type"]:
                return False
        for want in f.get("label", []):
            k, sep, v = want.partition("=")
            if k not in n.labels or (sep and n.labels[k] != v):
                return False
        if "dangling" in f:
            used = any(n.id in m.networks for m in self._members.values())
            if (f["dangling"][0].lower() in ("1", "true")) == used or n.name in PREDEFINED:
                return False
        return True

    def prune(self, filters: dict[str, list[str]]) -> list[str]:
        removed = []
        with self._lock:
            for n in self.find({k: v for k, v in filters.items() if k == "label"}):
                if n.name in PREDEFINED or self._endpoints_on(n.id):
                    continue
                if any(n.id in m.networks for m in self._members.values()):
                    continue
                self._delete_network(n)
                removed.append(n.name)
            self._apply_firewall()
        return removed

    def inspect(self, n: Network) -> dict[str, Any]:
        names = {m.cid: m.name for m in self._members.values()}
        containers = {
            cid: views.container_entry(names.get(cid, ""), e) for cid, e in self._endpoints_on(n.id)
        }
        return views.network_json(n, containers)

    # ---- memberships: what a container asked for ---------------------------------------------------
    def on_create(
        self, cid: str, name: str, host_config: dict[str, Any], networking: dict[str, Any], mac: str = ""
    ) -> None:
        """Check the container's networks exist and record its wishes (create's EndpointsConfig; `mac`,
        the container's MacAddress, is its primary network's unless that endpoint names its own)."""
        mode = _mode_network(host_config)
        if mode in ("host", "none") or mode.startswith("container:"):
            return
        endpoints = dict((networking or {}).get("EndpointsConfig") or {})
        if "default" in endpoints:  # the docker CLI's spelling of the default network
            endpoints.setdefault("bridge", endpoints.pop("default"))
        wanted: dict[str, EndpointConfig] = {}
        for ref in [mode, *[k for k in endpoints if k != mode]]:
            try:
                n = self.get(ref)
            except NotFound as e:
                # 400, not 404: the docker CLI takes a 404 at create for a missing image and pulls
                raise InvalidParameter(e.message) from None
            if n.driver != "bridge":
                raise InvalidParameter(f"container cannot be connected to network {n.name} and {mode}")
            cfg = self._endpoint_config(
                endpoints.get(ref) or endpoints.get(n.name) or endpoints.get(n.id) or {}
            )
            if ref == mode and mac and not cfg.mac:
                cfg = replace(cfg, mac=_valid_mac(mac))
            wanted[n.id] = cfg
        m = Membership(cid, name.lstrip("/"), wanted)
        # written before the lock: nothing else knows this container yet, and the fsync under the lock made
        # the parallel creates of an `up` wait for each other
        self.store.save_membership(m)
        with self._lock:
            self._members = {**self._members, cid: m}

    @staticmethod
    def _endpoint_config(d: dict[str, Any]) -> EndpointConfig:
        ipam_cfg = d.get("IPAMConfig") or {}
        return EndpointConfig(
            aliases=tuple(d.get("Aliases") or ()),
            ipv4=ipam_cfg.get("IPv4Address") or "",
            ipv6=ipam_cfg.get("IPv6Address") or "",
            links=tuple(d.get("Links") or ()),
            mac=_valid_mac(d.get("MacAddress") or ""),
            link_local_ips=tuple(_link_local(ip) for ip in ipam_cfg.get("LinkLocalIPs") or ()),
            driver_opts={str(k): str(v) for k, v in (d.get("DriverOpts") or {}).items()},
        )

    def rename(self, cid: str, name: str) -> None:
        with self._lock:
            m = self._members.get(cid)
            if m is not None:
                m = replace(m, name=name.lstrip("/"))
                self.store.save_membership(m)
                self._members = {**self._members, cid: m}

    def forget(self, cid: str) -> None:
        """The container is removed: detach and drop its wishes."""
        self.detach(cid)
        with self._lock:
            self.store.delete_membership(cid)
            self._members = {k: v for k, v in self._members.items() if k != cid}

    def close(self) -> None:
        """Daemon shutdown: stop answering DNS and let go of port sockets; kernel state stays for restart,
        except an unused default bridge (kept while the daemon runs, as docker0, so that a start does not
        make it, and its rules, again)."""
        self.dns.close_all()
        self.proxies.stop_all()
        self.ports.release_all()
        self.reaper.flush()
        with self._lock:
            default = next((n for n in self._nets.values() if n.name == "bridge"), None)
            if default is None or self.default_bridge not in self._up or self._endpoints_on(default.id):
                return
            self._up.discard(self.default_bridge)
            try:
                self._apply_firewall()
                netlink.delete_link(self.default_bridge)
            except (SystemError_, OSError) as e:
                log.warning("default bridge not removed bridge=%s error=%s", self.default_bridge, e)


_MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")


def _valid_mac(mac: str) -> str:
    if mac and not _MAC_RE.match(mac):
        raise InvalidParameter(f"invalid MAC address: {mac}")
    return mac


def _link_local(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise InvalidParameter(f"invalid link-local IP address: {address}") from None
    if not ip.is_link_local:
        raise InvalidParameter(f"invalid link-local IP address: {address}")
    return str(ip)
