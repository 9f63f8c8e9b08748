"""Daemon start: re-adopt containers whose monitors outlived the previous daemon, record the exits that
happened meanwhile, and bring back those whose restart policy says so."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from engine.containers.model import ZERO_TIME, Container
from engine.errors import EngineError

if TYPE_CHECKING:
    from engine.containers.service import ContainerService

log = logging.getLogger(__name__)


async def restore(svc: ContainerService) -> None:
    """Re-adopt containers whose monitors are alive; record the others' exits; restart per policy."""
    records, orphans = await asyncio.to_thread(svc.store.load)
    for cid in orphans:
        await svc.discard_orphan(cid)
    for c in records:
        if c.state.status == "removing":
            await svc.finish_removal(c)
            continue
        if c.state.status not in ("running", "paused", "restarting"):
            # killed between the runtime's start and the record's update: the process runs, adopt it
            c = await asyncio.to_thread(_adopt_unrecorded_start, svc, c)
            if c.state.status != "running":
                continue
        if await asyncio.to_thread(_alive, svc, c):
            svc.adopt(c)
            log.info("re-adopted container=%s", c.id[:12])
        else:
            await svc.record_exit(c)
    for c in svc.store.all():
        if svc.restarts.on_daemon_start(c):
            try:
                await svc.start(c.id)
            except EngineError as e:
                log.warning("restart at daemon start failed container=%s error=%s", c.id[:12], e.message)


def _adopt_unrecorded_start(svc: ContainerService, c: Container) -> Container:
    try:
        ps = svc.runtime(c).state(c.id)
    except (EngineError, OSError):
        return c
    if ps.status not in ("running", "paused") or ps.started_at <= c.state.started_at:
        return c
    log.info("adopting a start the record missed container=%s", c.id[:12])
    return svc.store.save(
        c.with_state(
            status="running",
            pid=ps.pid,
            exit_code=0,
            error="",
            started_at=ps.started_at,
            finished_at=ZERO_TIME,
        )
    )


def _alive(svc: ContainerService, c: Container) -> bool:
    try:
        return svc.runtime(c).state(c.id).status in ("running", "paused", "created")
    except (EngineError, OSError):
        return False
