"""Records of networking state, written atomically.

    <data-root>/networks/<id>.json              a network (survives reboots)
    <data-root>/networks/containers/<cid>.json  which networks a container asked for (create / connect)
    <exec-root>/network/<cid>.json              a live attachment: netns, endpoints, published ports
    <exec-root>/netns/<cid[:12]>                the container's network namespace (a bind mount)

Intent is written before the kernel object is made and removed after it is gone, so a crash in between
leaves a record the start-up reconcile can finish.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.network.model import Endpoint, EndpointConfig, Network, PortMapping
from engine.util.atomic import Sync, atomic_write_json, read_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Membership:
    """A container's wish: its name, and network id -> endpoint config, in the order joined."""

    cid: str
    name: str
    networks: dict[str, EndpointConfig] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "cid": self.cid,
            "name": self.name,
            "networks": [[k, v.to_json()] for k, v in self.networks.items()],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Membership:
        return cls(d["cid"], d["name"], {k: EndpointConfig.from_json(v) for k, v in d.get("networks", [])})


@dataclass(frozen=True)
class Attachment:
    """A container's attachment to networks: netns, endpoints, published ports."""

    cid: str
    netns: str
    endpoints: tuple[Endpoint, ...] = ()
    ports: tuple[PortMapping, ...] = ()
    hostname: str = ""
    links: tuple[tuple[str, str], ...] = ()  # (alias, target container name)
    upstreams: tuple[str, ...] = ()  # HostConfig.Dns: the embedded DNS forwards there

    def to_json(self) -> dict[str, Any]:
        return {
            "cid": self.cid,
            "netns": self.netns,
            "endpoints": [e.to_json() for e in self.endpoints],
            "ports": [p.to_json() for p in self.ports],
            "hostname": self.hostname,
            "links": [list(x) for x in self.links],
            "upstreams": list(self.upstreams),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Attachment:
        return cls(
            cid=d["cid"],
            netns=d["netns"],
            endpoints=tuple(Endpoint.from_json(e) for e in d.get("endpoints", [])),
            ports=tuple(PortMapping.from_json(p) for p in d.get("ports", [])),
            hostname=d.get("hostname", ""),
            links=tuple((a, b) for a, b in d.get("links", [])),
            upstreams=tuple(d.get("upstreams", ())),
        )


class NetworkStore:
    def __init__(self, data_root: Path, exec_root: Path) -> None:
        self.net_dir = data_root / "networks"
        self.member_dir = self.net_dir / "containers"
        self.live_dir = exec_root / "network"
        self.netns_dir = exec_root / "netns"
        self.doomed_dir = self.live_dir / "doomed-bridges"
        for d in (self.net_dir, self.member_dir, self.live_dir, self.netns_dir, self.doomed_dir):
            d.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _load_all(d: Path) -> list[dict[str, Any]]:
        out = []
        for p in sorted(d.glob("*.json")):
            try:
                out.append(read_json(p))
            except (OSError, ValueError) as e:
                log.warning("unreadable network record path=%s error=%s", p, e)
        return out

    # networks
    def networks(self) -> list[Network]:
        return [Network.from_json(d) for d in self._load_all(self.net_dir)]

    def save_network(self, n: Network) -> None:
        atomic_write_json(self.net_dir / f"{n.id}.json", n.to_json())

    def delete_network(self, nid: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.net_dir / f"{nid}.json").unlink()

    # memberships
    def memberships(self) -> list[Membership]:
        return [Membership.from_json(d) for d in self._load_all(self.member_dir)]

    def save_membership(self, m: Membership) -> None:
        atomic_write_json(self.member_dir / f"{m.cid}.json", m.to_json(), sync=Sync.DATA)  # as the record

    def delete_membership(self, cid: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.member_dir / f"{cid}.json").unlink()

    # live attachments
    def attachments(self) -> list[Attachment]:
        return [Attachment.from_json(d) for d in self._load_all(self.live_dir)]

    def save_attachment(self, a: Attachment) -> None:
        _replace_json(self.live_dir / f"{a.cid}.json", a.to_json())

    def delete_attachment(self, cid: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.live_dir / f"{cid}.json").unlink()

    # bridges of removed networks the kernel may still have: tombstones, so a killed daemon finishes them
    def doom_bridge(self, name: str) -> None:
        (self.doomed_dir / name).touch()

    def doomed_bridges(self) -> list[str]:
        return sorted(p.name for p in self.doomed_dir.iterdir())

    def bridge_gone(self, name: str) -> None:
        (self.doomed_dir / name).unlink(missing_ok=True)

    def netns_path(self, cid: str) -> Path:
        return self.netns_dir / cid[:12]


def _replace_json(path: Path, obj: Any) -> None:
    """Atomic against the daemon's death, but not fsynced: a live attachment describes kernel objects
    (namespaces, veths) that a machine crash loses too, and the record lives in the exec root (tmpfs in
    production)."""
    atomic_write_json(path, obj, sync=Sync.NONE)
