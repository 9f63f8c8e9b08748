"""The containers' side of engine.network.traffic: which members of a share group are ready for new
connections (running, healthy when they have a healthcheck, not being stopped), telling the network when
that changes, and draining a member before it is stopped while another one can take its traffic."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from engine.containers.model import Container
from engine.network.traffic import share_group

if TYPE_CHECKING:
    from engine.containers.core import Core

log = logging.getLogger(__name__)

# between taking a stopping member out of rotation and signalling it: requests it already accepted finish.
# At least DRAIN_SECONDS, then until the kernel tracks no open connection to its published ports (a slow
# request, a SYN whose retransmission would still go to it), at most DRAIN_LIMIT more (dockerd's default stop
# grace): an idle keep-alive connection does not hold a stop for longer.
DRAIN_SECONDS = 0.5
DRAIN_LIMIT = 10.0
DRAIN_POLL = 0.05


class Traffic:
    def __init__(self, service: Core) -> None:
        self._service = service
        self._draining: set[str] = set()
        if service.networks is not None:
            service.networks.readiness = self.ready

    def ready(self, cid: str) -> bool:
        c = self._service.store.current(cid)
        if c is None or c.state.status != "running" or cid in self._draining:
            return False
        return c.state.health is None or c.state.health.status == "healthy"

    async def changed(self) -> None:
        if self._service.networks is not None:
            await asyncio.to_thread(self._service.networks.refresh_traffic)

    async def started(self, c: Container) -> None:
        """A member without a healthcheck is ready once running: its group's ports now include it."""
        group = share_group(c.config)
        if c.state.health is not None or group is None:
            return
        if any(o.id != c.id and share_group(o.config) == group for o in self._service.store.all()):
            await self.changed()  # only a shared group's rules can change

    def _others_ready(self, c: Container) -> bool:
        group = share_group(c.config)
        if group is None:
            return False
        return any(
            o.id != c.id and share_group(o.config) == group and self.ready(o.id)
            for o in self._service.store.all()
        )

    async def drain(self, c: Container) -> None:
        """Take `c` out of rotation and give its accepted requests a moment, when another member of its share
        group is ready to serve (otherwise there is nobody to switch to, and the stop goes on at once)."""
        if self._service.networks is None or not self._others_ready(c):
            return
        networks = self._service.networks
        self._draining.add(c.id)
        await self.changed()
        log.info("draining container=%s seconds=%.1f", c.id[:12], DRAIN_SECONDS)
        await asyncio.sleep(DRAIN_SECONDS)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_LIMIT
        while (left := await asyncio.to_thread(networks.open_connections, c.id)) and loop.time() < deadline:
            await asyncio.sleep(DRAIN_POLL)
        if left:
            log.info("drain limit reached container=%s open_connections=%d", c.id[:12], left)

    def drained(self, cid: str) -> None:
        self._draining.discard(cid)
