"""One snapshot of what the engine holds for a project, found by Compose's labels (see composer.labels).

    observed = observe(engine.api, "webapp", image_refs=["busybox:latest"])
    observed.containers          # every container of the project, `run` ones included (oneoff=True)
    observed.networks            # name -> ObservedNetwork; None when the engine has no networks API
    observed.images              # ref -> image ID, or None when the engine lacks that image

Only list/inspect calls; nothing is changed. `reconcile` decides from this snapshot alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from composer import labels as L
from composer._log import get_logger
from composer._typecheck import TYPE_CHECKING
from composer.client import engine_errors, is_not_found

if TYPE_CHECKING:
    from typing import Any

    from composer.lite import Client

log = get_logger(__name__)

_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")


@dataclass(frozen=True)
class ObservedContainer:
    """A container of the project, as the engine lists it."""

    id: str
    name: str
    service: str
    number: int
    state: str  # created, running, paused, restarting, exited, dead, removing
    status: str  # the engine's human text, "Up 3 seconds (healthy)"
    image: str  # the image reference it was created with
    image_id: str
    config_hash: str
    oneoff: bool
    labels: Mapping[str, str] = field(default_factory=dict)
    created: int = 0
    networks: Mapping[str, str] | None = None  # network name -> NetworkID; None: the engine did not say

    @property
    def running(self) -> bool:
        return self.state in ("running", "restarting", "paused")

    @property
    def health(self) -> str | None:
        """healthy, unhealthy, starting, or None for containers without a healthcheck."""
        m = _HEALTH.search(self.status)
        if not m:
            return None
        return "starting" if m.group(1) == "health: starting" else m.group(1)

    @property
    def exit_code(self) -> int | None:
        m = re.match(r"Exited \((-?\d+)\)", self.status)
        return int(m.group(1)) if m else None


@dataclass(frozen=True)
class ObservedNetwork:
    """A network of the project, as the engine lists it."""

    id: str
    name: str
    key: str  # com.docker.compose.network
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ObservedVolume:
    """A volume of the project, as the engine lists it."""

    name: str
    key: str  # com.docker.compose.volume
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Observed:
    """One snapshot of what the engine has for a project."""

    project: str
    containers: tuple[ObservedContainer, ...] = ()
    networks: Mapping[str, ObservedNetwork] | None = field(default_factory=lambda: MappingProxyType({}))
    volumes: Mapping[str, ObservedVolume] = field(default_factory=lambda: MappingProxyType({}))
    images: Mapping[str, str | None] = field(default_factory=lambda: MappingProxyType({}))
    external_networks: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))
    details: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: MappingProxyType({}))
    contexts: Mapping[str, Mapping[str, str] | None] = field(default_factory=lambda: MappingProxyType({}))
    """built service -> its build context's file digests now (composer.buildcontext)."""
    """container id -> inspect JSON, for containers whose config hash is stale (to explain why)."""

    def service_containers(self, service: str) -> list[ObservedContainer]:
        """The service's own (not `run`) containers, by number."""
        found = [c for c in self.containers if c.service == service and not c.oneoff]
        return sorted(found, key=lambda c: (c.number, c.created))

    @property
    def services(self) -> list[str]:
        return sorted({c.service for c in self.containers if not c.oneoff})


def container_from_summary(item: Mapping[str, Any]) -> ObservedContainer:
    """An /containers/json entry -> ObservedContainer."""
    lab = dict(item.get("Labels") or {})
    names = item.get("Names") or [""]
    return ObservedContainer(
        id=str(item["Id"]),
        name=str(names[0]).lstrip("/"),
        service=lab.get(L.SERVICE, ""),
        number=L.number_of(lab),
        state=str(item.get("State") or ""),
        status=str(item.get("Status") or ""),
        image=str(item.get("Image") or ""),
        image_id=str(item.get("ImageID") or ""),
        config_hash=lab.get(L.CONFIG_HASH, ""),
        oneoff=lab.get(L.ONEOFF, L.FALSE) == L.TRUE,
        labels=MappingProxyType(lab),
        created=int(item.get("Created") or 0),
        networks=_network_ids(item),
    )


def _network_ids(item: Mapping[str, Any]) -> Mapping[str, str] | None:
    """The networks a container is attached to, as Docker lists them also for stopped containers (with
    the NetworkID it was connected to, which may since have been removed)."""
    settings = item.get("NetworkSettings")
    if not isinstance(settings, Mapping) or not isinstance(settings.get("Networks"), Mapping):
        return None
    return MappingProxyType(
        {str(name): str((ep or {}).get("NetworkID") or "") for name, ep in settings["Networks"].items()}
    )


def list_containers(api: Client, project: str, *, oneoff: bool | None = None) -> list[ObservedContainer]:
    with engine_errors(f"listing the containers of project {project}"):
        items = api.containers(all=True, filters=L.project_filter(project, oneoff=oneoff))
    return [container_from_summary(i) for i in items]


def list_networks(api: Client, project: str) -> dict[str, ObservedNetwork] | None:
    """The project's networks by name; None when the engine has no networks API (404 on /networks)."""
    try:
        with engine_errors(f"listing the networks of project {project}"):
            items = api.networks(filters=L.project_filter(project, oneoff=None))
    except Exception as exc:
        cause = exc.__cause__ or exc
        if is_not_found(cause) or getattr(cause, "status_code", None) == 503:
            log.info("engine has no networks API project=%s", project)
            return None
        raise
    return {
        str(i["Name"]): ObservedNetwork(
            str(i["Id"]),
            str(i["Name"]),
            (i.get("Labels") or {}).get(L.NETWORK, ""),
            MappingProxyType(dict(i.get("Labels") or {})),
        )
        for i in items
    }


def list_volumes(api: Client, project: str) -> dict[str, ObservedVolume]:
    with engine_errors(f"listing the volumes of project {project}"):
        reply = api.volumes(filters=L.project_filter(project, oneoff=None)) or {}
    return {
        str(v["Name"]): ObservedVolume(
            str(v["Name"]),
            (v.get("Labels") or {}).get(L.VOLUME, ""),
            MappingProxyType(dict(v.get("Labels") or {})),
        )
        for v in reply.get("Volumes") or []
    }


def image_ids(api: Client, refs: Iterable[str]) -> dict[str, str | None]:
    """ref -> local image ID (None: not present)."""
    found: dict[str, str | None] = {}
    for ref in dict.fromkeys(refs):
        try:
            with engine_errors(f"inspecting image {ref}"):
                found[ref] = str(api.inspect_image(ref)["Id"])
        except Exception as exc:
            if not is_not_found(exc.__cause__ or exc):
                raise
            found[ref] = None
    return found


def network_exists(api: Client, name: str) -> bool:
    try:
        with engine_errors(f"inspecting network {name}"):
            api.inspect_network(name)
    except Exception as exc:
        if is_not_found(exc.__cause__ or exc):
            return False
        raise
    return True


def observe(
    api: Client,
    project: str,
    *,
    image_refs: Iterable[str] = (),
    external_networks: Iterable[str] = (),
    wanted_hashes: Mapping[str, str] | None = None,
) -> Observed:
    """One snapshot: containers (all states, `run` ones included), networks, volumes, images; with
    `wanted_hashes` (service -> config hash) also the inspect of every container whose hash is stale."""
    networks = list_networks(api, project)
    containers = list_containers(api, project)
    details: dict[str, Mapping[str, Any]] = {}
    for c in containers:
        if wanted_hashes and c.service in wanted_hashes and wanted_hashes[c.service] != c.config_hash:
            try:
                with engine_errors(f"inspecting container {c.name}"):
                    details[c.id] = api.inspect_container(c.id)
            except Exception as exc:
                if not is_not_found(exc.__cause__ or exc):
                    raise
    externals = {n: network_exists(api, n) for n in external_networks} if networks is not None else {}
    return Observed(
        project=project,
        containers=tuple(containers),
        networks=MappingProxyType(networks) if networks is not None else None,
        volumes=MappingProxyType(list_volumes(api, project)),
        images=MappingProxyType(image_ids(api, image_refs)),
        external_networks=MappingProxyType(externals),
        details=MappingProxyType(details),
    )
