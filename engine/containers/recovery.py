"""Daemon start: re-adopt containers whose monitors outlived the previous daemon, record the exits that
happened meanwhile, and bring back those whose restart policy says so.

It reads the records and the runtime through the `Core` and takes the container service's lifecycle steps
as a `Lifecycle` (the few it needs): it never imports the service (service -> recovery -> core)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Protocol

from engine.containers.model import ZERO_TIME, Container
from engine.errors import EngineError

if TYPE_CHECKING:
    from engine.containers.core import Core
    from engine.containers.restart import RestartTracker

log = logging.getLogger(__name__)


class Lifecycle(Protocol):
    """The container service's steps a restore takes (ContainerService has them)."""

    async def discard_orphan(self, cid: str) -> None: ...
    async def finish_removal(self, c: Container) -> None: ...
    def adopt(self, c: Container) -> None: ...
    async def record_exit(self, c: Container) -> None: ...
    async def start(self, ref: str) -> None: ...


async def restore(core: Core, lifecycle: Lifecycle, restarts: RestartTracker) -> None:
    """Re-adopt containers whose monitors are alive; record the others' exits; restart per policy."""
    records, orphans = await asyncio.to_thread(core.store.load)
    for cid in orphans:
        await lifecycle.discard_orphan(cid)
    for c in records:
        if c.state.status == "removing":
            await lifecycle.finish_removal(c)
            continue
        if c.state.status not in ("running", "paused", "restarting"):
            # killed between the runtime's start and the record's update: the process runs, adopt it
            c = await asyncio.to_thread(_adopt_unrecorded_start, core, c)
            if c.state.status != "running":
                continue
        if await asyncio.to_thread(_alive, core, c):
            lifecycle.adopt(c)
            log.info("re-adopted container=%s", c.id[:12])
        else:
            await lifecycle.record_exit(c)
    for c in core.store.all():
        if restarts.on_daemon_start(c):
            try:
                await lifecycle.start(c.id)
            except EngineError as e:
                log.warning("restart at daemon start failed container=%s error=%s", c.id[:12], e.message)


def _adopt_unrecorded_start(core: Core, c: Container) -> Container:
    try:
        ps = core.runtime(c).state(c.id)
    except (EngineError, OSError):
        return c
    if ps.status not in ("running", "paused") or ps.started_at <= c.state.started_at:
        return c
    log.info("adopting a start the record missed container=%s", c.id[:12])
    return core.store.save(
        c.with_state(
            status="running",
            pid=ps.pid,
            exit_code=0,
            error="",
            started_at=ps.started_at,
            finished_at=ZERO_TIME,
        )
    )


def _alive(core: Core, c: Container) -> bool:
    try:
        return core.runtime(c).state(c.id).status in ("running", "paused", "created")
    except (EngineError, OSError):
        return False
