"""`wait` conditions (not-running, next-exit, removed), registered before the answer is awaited."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from engine.errors import InvalidParameter

if TYPE_CHECKING:
    from engine.containers.core import Core


def wait_for(svc: Core, ref: str, condition: str) -> Awaitable[dict[str, Any]]:
    """Register a wait now (so nothing that happens after this call is missed); await the result later."""
    c = svc.get(ref)
    if condition not in ("", "not-running", "next-exit", "removed"):
        raise InvalidParameter(f"invalid condition: {condition!r}")
    cid = c.id
    removed = svc.removed_event(cid)
    running = c.state.status in ("running", "paused", "restarting")
    exited = svc.exited_event(cid) if running else None
    started = None if running else svc.started_event(cid)

    def code() -> dict[str, Any]:
        cur = svc.store.current(cid)
        exit_code = cur.state.exit_code if cur is not None else removed.exit_code
        return {"StatusCode": c.state.exit_code if exit_code is None else exit_code, "Error": None}

    async def until(*events: asyncio.Event) -> None:
        waiters = [asyncio.ensure_future(e.wait()) for e in events]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    async def result() -> dict[str, Any]:
        if condition == "removed":
            await removed.wait()
            return code()
        if condition in ("", "not-running") and not running:
            return code()
        nonlocal exited
        if exited is None:
            assert started is not None
            await until(started, removed)
            if removed.is_set():
                return code()
            exited = svc.exited_event(cid)
        await until(exited, removed)
        return code()

    return result()
