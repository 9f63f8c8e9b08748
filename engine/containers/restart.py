"""Restart policies: no / always / on-failure[:N] / unless-stopped, with Docker's back-off
(100 ms doubling per restart, up to a minute, reset once a run lasted 10 s)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from engine.containers.model import Container
from engine.errors import EngineError

if TYPE_CHECKING:
    from engine.containers.core import Core

log = logging.getLogger(__name__)

INITIAL_DELAY = 0.1
MAX_DELAY = 60.0
RESET_AFTER = 10.0


def should_restart(c: Container, restart_count: int) -> bool:
    """Decide for an exited container, as moby's restartmanager does."""
    policy = c.host_config.get("RestartPolicy") or {}
    name = policy.get("Name") or "no"
    if c.manually_stopped:
        return False
    if name in ("always", "unless-stopped"):
        return True
    if name == "on-failure" and c.state.exit_code != 0:
        limit = int(policy.get("MaximumRetryCount") or 0)
        return limit == 0 or restart_count < limit
    return False


def next_delay(previous: float, ran_for: float) -> float:
    if ran_for >= RESET_AFTER or previous <= 0:
        return INITIAL_DELAY
    return min(previous * 2, MAX_DELAY)


class RestartTracker:
    def __init__(self, service: Core, start_locked: Callable[[Container], Awaitable[Container]]) -> None:
        self._service = service
        self._start_locked = start_locked  # the service's start, its lock held
        self._delay: dict[str, float] = {}
        self._started_mono: dict[str, float] = {}
        self._pending: dict[str, asyncio.TimerHandle] = {}

    def on_started(self, c: Container) -> None:
        self._started_mono[c.id] = time.monotonic()

    def cancel(self, cid: str) -> None:
        handle = self._pending.pop(cid, None)
        if handle is not None:
            handle.cancel()

    def forget(self, cid: str) -> None:
        self.cancel(cid)
        self._delay.pop(cid, None)
        self._started_mono.pop(cid, None)

    def cancel_all(self) -> None:
        for cid in list(self._pending):
            self.cancel(cid)

    def schedule(self, c: Container) -> bool:
        """After an exit: schedule a restart if the policy says so. True if one was scheduled."""
        if not should_restart(c, c.restart_count):
            self._delay.pop(c.id, None)
            return False
        ran_for = time.monotonic() - self._started_mono.get(c.id, time.monotonic())
        delay = next_delay(self._delay.get(c.id, 0.0), ran_for)
        self._delay[c.id] = delay
        svc = self._service
        svc.store.update(c.id, lambda cur: cur.with_state(status="restarting"))
        loop = asyncio.get_running_loop()
        self._pending[c.id] = loop.call_later(delay, lambda: asyncio.ensure_future(self._restart(c.id)))
        log.info("restart scheduled container=%s delay=%.1fs", c.id[:12], delay)
        return True

    async def _restart(self, cid: str) -> None:
        self._pending.pop(cid, None)
        svc = self._service
        async with svc.lock(cid):
            c = svc.store.current(cid)
            if c is None or c.state.status != "restarting" or c.manually_stopped:
                return
            c = svc.store.update(
                cid, lambda cur: dataclasses.replace(cur, restart_count=cur.restart_count + 1)
            )
            try:
                await self._start_locked(c)
            except EngineError as e:
                log.warning("restart failed container=%s error=%s", cid[:12], e.message)
                cur = svc.store.current(cid)
                if cur is not None:
                    self.schedule(cur)

    def on_daemon_start(self, c: Container) -> bool:
        """Containers that come back when the daemon starts, as dockerd 20.10 decides (measured on a private
        dockerd after a power cut): "always" even after a manual stop; "unless-stopped" unless the user
        stopped it; "on-failure" whenever the last exit code is non-zero and retries are left, a manual stop
        included (moby's restart manager ignores the manual stop for on-failure, and a container cut off by
        a reboot records exit code 255); "no" never."""
        if c.state.status != "exited":
            return False
        policy = c.host_config.get("RestartPolicy") or {}
        name = policy.get("Name") or "no"
        if name == "always":
            return True
        if name == "unless-stopped":
            return not c.manually_stopped
        if name == "on-failure" and c.state.exit_code != 0:
            limit = int(policy.get("MaximumRetryCount") or 0)
            return limit == 0 or c.restart_count < limit
        return False
