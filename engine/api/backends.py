"""What the HTTP layer can reach: the stores and services built by the composition root (`engine.daemon`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.api import web

if TYPE_CHECKING:
    from engine.build.executor import Builder
    from engine.config import DaemonConfig
    from engine.containers.execs import ExecService
    from engine.containers.service import ContainerService
    from engine.events import EventBus
    from engine.images.store import ImageStore
    from engine.network.service import NetworkService
    from engine.registry import RegistryClient
    from engine.volumes.store import VolumeStore

# (method, path without version prefix, handler)
Route = tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]


@dataclass(frozen=True)
class Backends:
    config: DaemonConfig
    events: EventBus
    containers: ContainerService
    execs: ExecService
    images: ImageStore
    volumes: VolumeStore
    networks: NetworkService
    # made on the first call (the idle daemon never loads the registry client or the builder)
    registry: Callable[[], RegistryClient]
    builder: Callable[[], Builder]
    engine_id: str
    started_at: float


BACKENDS: web.AppKey[Backends] = web.AppKey("backends", Backends)


def backends(request: web.Request) -> Backends:
    return request.app[BACKENDS]
