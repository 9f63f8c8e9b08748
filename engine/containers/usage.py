"""What containers take up: sizes for `ps --size`/inspect, GraphDriver data, and `container prune`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from engine.containers.model import Container, parse_rfc3339
from engine.errors import Conflict, EngineError, NotFound

if TYPE_CHECKING:
    from engine.containers.core import Core


async def sizes(svc: Core, c: Container) -> tuple[int, int]:
    """(SizeRw, SizeRootFs): bytes in the container's upper dir, and that plus the image."""

    def measure() -> tuple[int, int]:
        try:
            rw = int(svc.images.size_rw(c.id))
        except (EngineError, OSError):
            rw = 0
        try:
            image_size = int(svc.images.get(c.image_id).size)
        except (EngineError, OSError, AttributeError):
            image_size = 0
        return rw, rw + image_size

    return await asyncio.to_thread(measure)


def graph_driver_data(svc: Core, c: Container) -> dict[str, str] | None:
    try:
        return {k: str(v) for k, v in svc.images.rw_paths(c.id).items()}
    except (EngineError, OSError):
        return None


async def prune(
    svc: Core,
    remove: Callable[[str], Awaitable[None]],
    filters: dict[str, tuple[str, ...]],
    until_ns: list[int],
) -> tuple[list[str], int]:
    """Remove (with the service's `remove`) stopped containers matching label/label! filters, created
    before every `until_ns`."""
    labels = filters.get("label", ())
    deleted: list[str] = []
    reclaimed = 0
    for c in svc.store.all():
        if c.state.status not in ("exited", "created", "dead"):
            continue
        if until_ns and not all(parse_rfc3339(c.created) * 1e9 < u for u in until_ns):
            continue
        lab = c.config.get("Labels") or {}
        if any(not _label_match(lab, want) for want in labels):
            continue
        if any(_label_match(lab, want) for want in filters.get("label!", ())):
            continue
        rw, _ = await sizes(svc, c)
        try:
            await remove(c.id)
        except (NotFound, Conflict):
            continue
        deleted.append(c.id)
        reclaimed += rw
    return deleted, reclaimed


def _label_match(labels: dict[str, str], want: str) -> bool:
    key, sep, value = want.partition("=")
    return key in labels and (not sep or labels[key] == value)
