"""The reconciler's view of the project networks: does a container still fit the networks that exist,
and has a network's configuration changed since it was created (then it is removed and created again,
as Compose v2 does, and every container attached to it is recreated).

A network composer creates carries Compose's config hash label (network_hash) of its configuration; a
network without one is never taken as changed (as Compose does).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from composer import labels as L
from composer.canonical.order import order_struct, strip_extensions
from composer.digest import sha256_hex
from composer.model import Project, Service
from composer.model.project import Resource, go_json
from composer.observe import Observed, ObservedContainer


def network_hash(net: Resource) -> str:
    """Compose's `com.docker.compose.config-hash` of a network: the SHA-256 of the network as the
    reference's JSON prints it (`config --format json`, no x-* keys). The same value on both tools' networks
    is what lets each take the other's network as current."""
    return _digest(strip_extensions(net.to_dict("network"), "network"))


def volume_hash(vol: Resource) -> str:
    """Compose's config hash of a volume: as its JSON prints it, with the driver defaulting to local."""
    body = vol.to_dict("volume")
    body.setdefault("driver", "local")
    return _digest(strip_extensions(order_struct(body, "volume"), "volume"))


def _digest(body: object) -> str:
    return sha256_hex(go_json(body).encode("utf-8"))


def changed_networks(project: Project, observed: Observed, keys: Iterable[str]) -> dict[str, str]:
    """Network name -> key, for the project networks among `keys` whose configuration changed."""
    if observed.networks is None:
        return {}
    changed = {}
    for key in keys:
        net = project.networks.get(key)
        if net is None or net.external:
            continue
        found = observed.networks.get(net.name)
        recorded = found.labels.get(L.CONFIG_HASH) if found is not None else None
        if recorded and recorded != network_hash(net):
            changed[net.name] = key
    return changed


def attached(project: Project, observed: Observed, network: str, key: str) -> list[ObservedContainer]:
    """The project's containers on `network`: listed as attached to it or (when the engine does not
    list networks) of a service that uses it."""
    out = []
    for c in observed.containers:
        if c.networks is not None:
            if network in c.networks:
                out.append(c)
        elif c.service in project.services and key in project.services[c.service].networks:
            out.append(c)
    return out


def network_change(
    project: Project, observed: Observed, svc: Service, c: ObservedContainer, changed: Mapping[str, str]
) -> str | None:
    """Why the container no longer fits the project's networks: one's configuration changed (it is
    created again), one was removed and created again (the container still names the old NetworkID, and
    starting it would fail with "network ... not found"), one is missing and will be created, or the
    container is not attached to it. Compose checks running containers only, so a stopped container on a
    re-created network fails to start there; here every state is checked. Unknown when the engine lists
    no networks for containers."""
    if observed.networks is None or c.networks is None:
        return None
    for key in svc.networks:
        net = project.networks.get(key)
        if net is None or net.external:
            continue
        if net.name in changed:
            return f"network {net.name} configuration changed"
        current = observed.networks.get(net.name)
        if current is None:
            return f"network {net.name} is missing"
        if current.id in c.networks.values():
            continue
        if net.name in c.networks:
            return f"network {net.name} was recreated"
        return f"not attached to network {net.name}"
    return None
