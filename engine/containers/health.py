"""Healthchecks on schedule: probes run through the runtime's exec; results land in State.Health and
as `health_status` events when the status changes.

Schedule: the first probe right after start, then every StartInterval during StartPeriod, then every
Interval. Failures inside the start period do not count; Retries consecutive failures make it unhealthy.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any

from engine.containers import stdio
from engine.containers.execs import exec_process
from engine.containers.model import Container, Health, now_rfc3339, parse_rfc3339
from engine.errors import EngineError, NotFound

if TYPE_CHECKING:
    from engine.containers.core import Core
    from engine.containers.traffic import Traffic

log = logging.getLogger(__name__)

NS = 1_000_000_000
DEFAULTS = {"Interval": 30 * NS, "Timeout": 30 * NS, "StartPeriod": 0, "StartInterval": 5 * NS, "Retries": 3}
MAX_OUTPUT = 4096
MAX_LOG = 5


def probe_command(test: list[str]) -> list[str] | None:
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD":
        return list(test[1:])
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(test[1:])]
    return list(test)  # a bare command list, as some clients send


def settings(hc: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key, default in DEFAULTS.items():
        value = int(hc.get(key) or 0)
        out[key] = (value or default) / (NS if key != "Retries" else 1)
    return out


def next_health(h: Health, exit_code: int, in_start_period: bool, retries: int) -> Health:
    if exit_code == 0:
        return dataclasses.replace(h, status="healthy", failing_streak=0)
    if in_start_period:
        return h  # failures while starting do not count
    streak = h.failing_streak + 1
    return dataclasses.replace(
        h, failing_streak=streak, status="unhealthy" if streak >= retries else h.status
    )


class HealthChecker:
    def __init__(self, service: Core, traffic: Traffic) -> None:
        self._service = service
        self._traffic = traffic
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, c: Container) -> None:
        hc = c.config.get("Healthcheck") or {}
        if probe_command(hc.get("Test") or []) is None or c.id in self._tasks:
            return
        self._tasks[c.id] = asyncio.ensure_future(self._loop(c.id))

    def stop(self, cid: str) -> None:
        task = self._tasks.pop(cid, None)
        if task is not None:
            task.cancel()

    def stop_all(self) -> None:
        for cid in list(self._tasks):
            self.stop(cid)

    async def _loop(self, cid: str) -> None:
        svc = self._service
        try:
            while True:
                c = svc.store.current(cid)
                if c is None or c.state.status not in ("running", "paused"):
                    return
                hc = c.config.get("Healthcheck") or {}
                s = settings(hc)
                started = parse_rfc3339(c.state.started_at)
                in_start = time.time() - started < s["StartPeriod"]
                if c.state.status == "running":
                    await self._probe(c, s, in_start)
                await asyncio.sleep(s["StartInterval"] if in_start else s["Interval"])
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("healthcheck loop failed container=%s", cid[:12])

    async def _probe(self, c: Container, s: dict[str, float], in_start: bool) -> None:
        svc = self._service
        cmd = probe_command(c.config["Healthcheck"].get("Test") or []) or []
        begin = now_rfc3339()
        try:
            code, output = await asyncio.wait_for(self._run(c, cmd), s["Timeout"])
        except TimeoutError:
            code, output = -1, f"Health check exceeded timeout ({s['Timeout']:g}s)"
        except (EngineError, OSError) as e:
            code, output = -1, str(e)
        result = {"Start": begin, "End": now_rfc3339(), "ExitCode": code, "Output": output}
        change: dict[str, Health] = {}

        def record(cur: Container) -> Container:
            if cur.state.status not in ("running", "paused"):
                return cur  # it ended while the probe ran
            old = cur.state.health or Health()
            new = next_health(old, code, in_start, int(s["Retries"]))
            new = dataclasses.replace(new, log=(tuple(old.log) + (result,))[-MAX_LOG:])
            change.update(old=old, new=new)
            return cur.with_state(health=new)

        try:
            cur = svc.store.update(c.id, record)
        except NotFound:
            return
        if change and change["new"].status != change["old"].status:
            svc.event_publish(cur, f"health_status: {change['new'].status}")
            await self._traffic.changed()  # healthy: it may take new connections; unhealthy: no more

    async def _run(self, c: Container, cmd: list[str]) -> tuple[int, str]:
        rt = self._service.runtime(c)
        eid = secrets.token_hex(32)
        process = exec_process(c, cmd, env=[], user="", workdir="", tty=False)
        path = await asyncio.to_thread(rt.exec, c.id, eid, process, tty=False, open_stdin=False)
        reader, writer = await stdio.connect(path, stdin=False, stdout=True, stderr=True)
        try:
            data, _ = await stdio.read_frames(reader, MAX_OUTPUT)
        finally:
            writer.close()
        try:
            for _ in range(200):
                try:
                    st = await asyncio.to_thread(rt.exec_state, c.id, eid)
                except NotFound:  # its monitor has not written a status yet
                    st = None
                if st is not None and st.status == "exited":
                    return int(st.exit_code or 0), data.decode(errors="replace")
                await asyncio.sleep(0.01)
            return -1, data.decode(errors="replace")
        finally:
            # a probe's files are not kept (the runtime kills a probe still running, e.g. timed out)
            with contextlib.suppress(EngineError, OSError):
                await asyncio.to_thread(rt.exec_delete, c.id, eid)
