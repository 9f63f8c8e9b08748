"""Container operations besides the lifecycle: update, commit, changes, top, stats."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Any

from engine.containers import stats as statslib
from engine.containers.create import normalize_host_config
from engine.containers.top import top as run_top
from engine.errors import Conflict, EngineError, InvalidParameter, NotFound

if TYPE_CHECKING:
    from engine.containers.core import Core

# HostConfig resources `docker update` may change
UPDATABLE = frozenset(
    {
        "Memory",
        "MemorySwap",
        "MemoryReservation",
        "NanoCpus",
        "CpuShares",
        "CpuQuota",
        "CpuPeriod",
        "CpusetCpus",
        "CpusetMems",
        "PidsLimit",
        "BlkioWeight",
        "KernelMemory",
        "CpuRealtimePeriod",
        "CpuRealtimeRuntime",
    }
)


async def commit(
    svc: Core,
    ref: str,
    *,
    tags: list[str],
    config: dict[str, Any] | None,
    changes: list[str],
    comment: str,
    author: str,
    pause: bool,
) -> str:
    """`docker commit`: the container's changes on top of its image; paused meanwhile if asked."""
    c = svc.get(ref)
    async with svc.lock(c.id):
        c = svc.store.current(c.id) or c
        freeze = pause and c.state.status == "running"
        if freeze:
            await asyncio.to_thread(svc.runtime(c).pause, c.id)
        try:
            base = await asyncio.to_thread(svc.images.get, c.image_id)
            image = await asyncio.to_thread(
                svc.images.commit_rw,
                c.id,
                base,
                config or c.config,
                tags=tags,
                changes=changes,
                comment=comment,
                author=author,
            )
        finally:
            if freeze:
                await asyncio.to_thread(svc.runtime(c).resume, c.id)
    svc.event_publish(c, "commit", comment=comment)
    return str(image.id)


async def update(svc: Core, ref: str, body: dict[str, Any]) -> list[str]:
    """`docker update`: the restart policy and resources at any time; a running (or paused) container's
    cgroup takes the new limits at once (Runtime.update), a stopped one gets them at its next start."""
    c = svc.get(ref)
    # clients send every field, zero when unchanged
    unknown = sorted(k for k, v in body.items() if k not in UPDATABLE | {"RestartPolicy"} and v)
    if unknown:
        raise InvalidParameter(f"cannot update {', '.join(unknown)}")
    async with svc.lock(c.id):
        c = svc.store.current(c.id) or c
        resources = {k: v for k, v in body.items() if k in UPDATABLE and v not in (None, 0, "")}
        merged = {**c.host_config, **resources}
        policy = body.get("RestartPolicy") or {}
        if policy.get("Name"):  # an empty name means "unchanged"
            merged["RestartPolicy"] = policy
        merged = normalize_host_config(merged)
        if resources and c.state.status in ("running", "paused"):
            # written to the live cgroup first; the record changes only if the kernel took them.
            from engine.runtime.oci import live_resources

            await asyncio.to_thread(svc.runtime(c).update, c.id, live_resources(merged))
        c = svc.store.update(c.id, lambda cur: dataclasses.replace(cur, host_config=merged))
    svc.event_publish(c, "update")
    return []


async def changes(svc: Core, ref: str) -> list[dict[str, Any]]:
    c = svc.get(ref)
    return list(await asyncio.to_thread(svc.images.changes_rw, c.id))


async def top(svc: Core, ref: str, ps_args: str) -> dict[str, Any]:
    """`docker top`: the host's ps, rows of this container's processes only."""
    c = svc.get(ref)
    if c.state.status not in ("running", "paused"):
        raise Conflict(f"container {c.id} is not running")
    pids = await asyncio.to_thread(svc.runtime(c).top, c.id)
    return await asyncio.to_thread(run_top, list(pids), ps_args)


async def stats(svc: Core, cid: str, previous: dict[str, Any] | None) -> dict[str, Any]:
    """One `docker stats` sample (zeros, with the zero `read` time, when not running)."""
    c = svc.store.current(cid)
    if c is None:
        raise NotFound(f"No such container: {cid}")
    if c.state.status not in ("running", "paused"):
        return statslib.empty_sample(c)
    try:
        raw = await asyncio.to_thread(svc.runtime(c).stats, c.id)
    except (EngineError, OSError):
        return statslib.empty_sample(c)
    return statslib.sample(c, raw, previous)
