"""What the HTTP layer can reach: the services built by the composition root (`engine.daemon`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.api import web

if TYPE_CHECKING:
    from engine.config import DaemonConfig
    from engine.containers.execs import ExecService
    from engine.containers.service import ContainerService
    from engine.events import EventBus

# (method, path without version prefix, handler)
Route = tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]


@dataclass(frozen=True)
class Backends:
    config: DaemonConfig
    events: EventBus
    containers: ContainerService
    execs: ExecService
    images: Any  # engine.images.ImageStore
    volumes: Any  # engine.volumes.VolumeStore
    engine_id: str
    started_at: float


BACKENDS: web.AppKey[Backends] = web.AppKey("backends", Backends)


def backends(request: web.Request) -> Backends:
    return request.app[BACKENDS]
