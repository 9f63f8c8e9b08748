"""What the HTTP layer can reach: the stores and services built by the composition root (`engine.daemon`).

Each route group sees the domain through a small Protocol of the calls it makes (the real classes are
named beside each); route tests hand the app small fakes of them.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from engine.api import web

if TYPE_CHECKING:
    from engine.build.executor import BuildOptions
    from engine.config import DaemonConfig
    from engine.containers.archive import ByteSource
    from engine.containers.core import Removal
    from engine.containers.execs import ExecConfig
    from engine.containers.model import Container
    from engine.containers.store import ContainerStore
    from engine.events import Event, EventFilter
    from engine.images.listing import Layers
    from engine.images.store import Image
    from engine.network.model import Network
    from engine.registry import RegistryClient
    from engine.runtime import Runtime
    from engine.system import DiskUsage
    from engine.volumes.store import Volume

# (method, path without version prefix, handler)
Route = tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]
InUse = Callable[[str], list[str]]  # a volume name or an image id -> the containers using it
Emit = Callable[[dict[str, Any]], None]  # one JSON progress message


class Events(Protocol):
    """engine.events.EventBus: every group publishes dockerd's events; system streams them."""

    def publish(
        self, type_: str, action: str, actor_id: str, attributes: Mapping[str, str] | None = None
    ) -> Event: ...

    @property
    def listeners(self) -> int: ...

    def stream(
        self, since_ns: int | None, until_ns: int | None, flt: EventFilter
    ) -> AsyncIterator[Event]: ...


class Containers(Protocol):
    """engine.containers.service.ContainerService: the container, attach and file groups; image and volume
    users for the image and volume groups; counts and sizes for system info and df."""

    pending_attach: dict[str, int]  # attach clients waiting for a start (docker run)

    @property
    def store(self) -> ContainerStore: ...

    def get(self, ref: str) -> Container: ...

    def lock(self, cid: str) -> asyncio.Lock: ...

    def runtime(self, c: Container) -> Runtime: ...

    def log_path(self, cid: str) -> Path: ...

    def event_publish(self, c: Container, action: str, **extra: str) -> None: ...

    def started_event(self, cid: str) -> asyncio.Event: ...

    def removed_event(self, cid: str) -> Removal: ...

    def counts(self) -> dict[str, int]: ...

    def image_users(self, image_id: str, *, running_only: bool = ...) -> list[str]: ...

    def volume_users(self, name: str) -> list[str]: ...

    def image_matches(self, ref: str, c: Container) -> bool: ...

    async def sizes(self, c: Container) -> tuple[int, int]: ...

    def graph_driver_data(self, c: Container) -> dict[str, str] | None: ...

    async def prune(
        self, filters: dict[str, tuple[str, ...]], until_ns: list[int]
    ) -> tuple[list[str], int]: ...

    async def create(
        self, name: str | None, body: dict[str, Any], platform: str = ...
    ) -> tuple[str, list[str]]: ...

    async def start(self, ref: str) -> None: ...

    async def stop(self, ref: str, *, signal: str | None = ..., timeout: int | None = ...) -> None: ...

    async def restart(self, ref: str, *, signal: str | None = ..., timeout: int | None = ...) -> None: ...

    async def kill(self, ref: str, signal: str | None) -> None: ...

    async def pause(self, ref: str) -> None: ...

    async def unpause(self, ref: str) -> None: ...

    async def remove(self, ref: str, *, force: bool, volumes: bool) -> None: ...

    async def remove_link(self, ref: str) -> None: ...

    async def rename(self, ref: str, new_name: str) -> None: ...

    async def update(self, ref: str, body: dict[str, Any]) -> list[str]: ...

    async def resize(self, ref: str, height: int, width: int) -> None: ...

    def wait_for(self, ref: str, condition: str) -> Awaitable[dict[str, Any]]: ...

    async def commit(
        self,
        ref: str,
        *,
        tags: list[str],
        config: dict[str, Any] | None,
        changes: list[str],
        comment: str,
        author: str,
        pause: bool,
    ) -> str: ...

    async def changes(self, ref: str) -> list[dict[str, Any]]: ...

    async def top(self, ref: str, ps_args: str) -> dict[str, Any]: ...

    async def stats(self, cid: str, previous: dict[str, Any] | None) -> dict[str, Any]: ...

    async def stat_path(self, c: Container, path: str) -> dict[str, Any]: ...

    def reading(
        self, c: Container, path: str
    ) -> contextlib.AbstractAsyncContextManager[tuple[dict[str, Any], AsyncIterator[bytes]]]: ...

    async def extract(
        self, c: Container, path: str, body: ByteSource, *, no_overwrite_dir_non_dir: bool, copy_uid_gid: bool
    ) -> None: ...

    def exporting(self, c: Container) -> contextlib.AbstractAsyncContextManager[AsyncIterator[bytes]]: ...


class Execs(Protocol):
    """engine.containers.execs.ExecService, for the exec group."""

    def create(self, ref: str, body: dict[str, Any]) -> str: ...

    async def start(self, eid: str, *, detach: bool) -> tuple[ExecConfig, Path]: ...

    def finished(self, eid: str) -> None: ...

    def inspect(self, eid: str) -> dict[str, Any]: ...

    async def resize(self, eid: str, height: int, width: int) -> None: ...


class Volumes(Protocol):
    """engine.volumes.store.VolumeStore, for the volumes group and system df."""

    def create(
        self,
        name: str | None = None,
        *,
        driver: str = ...,
        labels: dict[str, str] | None = ...,
        driver_opts: dict[str, str] | None = ...,
    ) -> Volume: ...

    def get(self, name: str) -> Volume: ...

    def list(
        self, filters: Mapping[str, Sequence[str]] | None = ..., in_use: InUse | None = ...
    ) -> builtins.list[Volume]: ...

    def remove(self, name: str, *, force: bool = ..., in_use: InUse = ...) -> None: ...

    def prune(
        self, filters: Mapping[str, Sequence[str]] | None = ..., in_use: InUse = ...
    ) -> dict[str, Any]: ...


class Images(Protocol):
    """engine.images.store.ImageStore, for the images group, system info and df."""

    @property
    def root(self) -> Path: ...

    @property
    def layers(self) -> Layers: ...

    def list(self) -> builtins.list[Image]: ...

    def get(self, ref_or_id: str) -> Image: ...

    def inspect(self, ref: str) -> dict[str, Any]: ...

    def history(self, ref: str) -> builtins.list[dict[str, Any]]: ...

    def tag(self, ref: str, new_ref: str) -> None: ...

    def remove(
        self, ref: str, *, force: bool, prune: bool, in_use: InUse, running: InUse | None = ...
    ) -> builtins.list[dict[str, str]]: ...

    def prune(
        self,
        *,
        all_unused: bool = ...,
        filters: dict[str, builtins.list[str]] | None = ...,
        in_use: InUse = ...,
    ) -> dict[str, Any]: ...

    def import_rootfs(
        self,
        tar_stream: BinaryIO,
        repo_tag: str | None = ...,
        changes: Sequence[str] = ...,
        message: str = ...,
    ) -> Image: ...

    def save(self, refs: builtins.list[str]) -> Iterator[bytes]: ...

    def load(self, tar_stream: BinaryIO) -> builtins.list[str]: ...


class Networks(Protocol):
    """engine.network.service.NetworkService, for the networks group and the containers' views."""

    def get(self, ref: str) -> Network: ...

    def create(self, body: dict[str, Any]) -> Network: ...

    def remove(self, ref: str) -> None: ...

    def find(self, filters: dict[str, list[str]]) -> list[Network]: ...

    def prune(self, filters: dict[str, list[str]]) -> list[str]: ...

    def inspect(self, n: Network) -> dict[str, Any]: ...

    def connect(
        self, ref: str, cid: str, name: str, running: bool, host_config: dict[str, Any], body: dict[str, Any]
    ) -> None: ...

    def disconnect(self, ref: str, cid: str, name: str, force: bool) -> None: ...

    def settings(self, cid: str, config: dict[str, Any], host_config: dict[str, Any]) -> dict[str, Any]: ...

    def ps_ports(self, cid: str, config: dict[str, Any]) -> list[dict[str, Any]]: ...


class Build(Protocol):
    """engine.build.executor.Builder, for the build group."""

    async def build(self, context_dir: Path, opts: BuildOptions, emit: Emit) -> str: ...

    def prune(self) -> None: ...


class System(Protocol):
    """engine.system.SystemService, for /system/df."""

    def disk_usage(self, types: frozenset[str]) -> DiskUsage: ...


@dataclass(frozen=True)
class Backends:
    """The engine's services, as the API's route handlers reach them."""

    config: DaemonConfig
    events: Events
    containers: Containers
    execs: Execs
    images: Images
    volumes: Volumes
    networks: Networks
    system: System
    # made on the first call (the idle daemon never loads the registry client or the builder)
    registry: Callable[[], RegistryClient]
    builder: Callable[[], Build]
    engine_id: str
    started_at: float


BACKENDS: web.AppKey[Backends] = web.AppKey("backends", Backends)


def backends(request: web.Request) -> Backends:
    found: Backends = request.app[BACKENDS]
    return found
