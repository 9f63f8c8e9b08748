"""What ContainerService shares with its helpers (restart policies, healthchecks, network traffic, waits,
execs, the commit/update/changes/top/stats operations, sizes and prune): the records, the blocking host half,
the image store, the event bus, the network hook, one lock per container and the signals waiters await (a run
began, the current run ended, it was removed). The helpers take this core, not the service, so imports point
one way: service -> helpers -> core. (`recovery` also asks the service for a few lifecycle steps, through
its own `Lifecycle` Protocol; `archive` takes the core and the volume store.)"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from engine.containers.host import HostOps
from engine.containers.model import Container
from engine.containers.store import ContainerStore
from engine.events import EventBus

if TYPE_CHECKING:
    from engine.images.store import ImageStore
    from engine.network.service import NetworkService
    from engine.runtime import Runtime


class Removal(asyncio.Event):
    """Set when a container is removed; keeps its last exit code for those still waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.exit_code: int | None = None


class Core:
    def __init__(
        self,
        *,
        store: ContainerStore,
        host: HostOps,
        images: ImageStore,
        events: EventBus,
        networks: NetworkService | None,
    ) -> None:
        self.store = store
        self.host = host
        self.images = images
        self.events = events
        self.networks = networks  # engine.network.NetworkService (None: loopback-only containers)
        self._locks: dict[str, asyncio.Lock] = {}
        self._exited: dict[str, asyncio.Event] = {}  # replaced on every start: "the current run ended"
        self._started: dict[str, asyncio.Event] = {}  # replaced on every exit: "a run began"
        self._removed: dict[str, Removal] = {}

    def lock(self, cid: str) -> asyncio.Lock:
        """Orders the lifecycle operations of one container."""
        return self._locks.setdefault(cid, asyncio.Lock())

    def get(self, ref: str) -> Container:
        return self.store.get(ref)

    def runtime(self, c: Container) -> Runtime:
        return self.host.runtime(c)

    def log_path(self, cid: str) -> Path:
        return self.host.log_path(cid)

    def event_publish(self, c: Container, action: str, **extra: str) -> None:
        """A container event; its attributes carry the image, the name and the labels, as dockerd's."""
        attrs = {"image": c.image_name, "name": c.name}
        attrs.update({k: str(v) for k, v in (c.config.get("Labels") or {}).items()})
        attrs.update(extra)
        self.events.publish("container", action, c.id, attrs)

    def exited_event(self, cid: str) -> asyncio.Event:
        return self._exited.setdefault(cid, asyncio.Event())

    def started_event(self, cid: str) -> asyncio.Event:
        return self._started.setdefault(cid, asyncio.Event())

    def removed_event(self, cid: str) -> Removal:
        return self._removed.setdefault(cid, Removal())

    def new_run(self, cid: str) -> None:
        """A run is starting (or was found running): its end is a new event."""
        self._exited[cid] = asyncio.Event()

    def run_began(self, cid: str) -> None:
        """Wake those waiting for a start; the next wait for one waits for the next start."""
        started = self._started.pop(cid, None)
        if started is not None:
            started.set()

    def forget(self, cid: str) -> None:
        """The container is gone: its lock and signals too."""
        self._locks.pop(cid, None)
        self._removed.pop(cid, None)
        self._exited.pop(cid, None)
        self._started.pop(cid, None)
