"""The event bus: every lifecycle step is published here; `/events` streams it, with a short history
for `since`. Lives in the daemon's event loop; publish() is also safe to call from worker threads."""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

HISTORY = 1024  # like dockerd's events ring buffer


@dataclass(frozen=True)
class Event:
    """One event of `GET /events` (type, action, actor, attributes, time)."""

    type: str  # container, image, volume, network, daemon
    action: str  # create, start, die, health_status: healthy, exec_start: sh -c ...
    actor_id: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    time_nano: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Type": self.type,
            "Action": self.action,
            "Actor": {"ID": self.actor_id, "Attributes": dict(self.attributes)},
            "scope": "local",
            "time": self.time_nano // 1_000_000_000,
            "timeNano": self.time_nano,
        }
        # the pre-1.22 fields the docker CLI still reads for containers and images
        if self.type in ("container", "image"):
            out["status"] = self.action
            out["id"] = self.actor_id
            if "image" in self.attributes:
                out["from"] = self.attributes["image"]
        return out


@dataclass(frozen=True)
class EventFilter:
    """Docker's event filters: each key is OR within itself and AND across keys."""

    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def matches(self, ev: Event) -> bool:
        f = self.filters
        if "type" in f and ev.type not in f["type"]:
            return False
        if "event" in f and not any(ev.action == e or ev.action.split(":")[0] == e for e in f["event"]):
            return False
        if "container" in f and (ev.type != "container" or not _actor_in(ev, f["container"])):
            return False
        if "image" in f and not self._image_matches(ev, f["image"]):
            return False
        for kind in ("volume", "network"):
            if kind in f and (ev.type != kind or not _actor_in(ev, f[kind])):
                return False
        if "label" in f:
            for want in f["label"]:
                key, sep, value = want.partition("=")
                if key not in ev.attributes or (sep and ev.attributes[key] != value):
                    return False
        return True

    @staticmethod
    def _image_matches(ev: Event, images: tuple[str, ...]) -> bool:
        candidates = {ev.attributes.get("image", "")}
        if ev.type == "image":
            candidates |= {ev.actor_id, ev.attributes.get("name", "")}
        for img in images:
            bare = img if ":" in img.rsplit("/", 1)[-1] else img + ":latest"
            if img in candidates or bare in candidates:
                return True
        return False


def _actor_in(ev: Event, values: tuple[str, ...]) -> bool:
    name = ev.attributes.get("name", "")
    return any(ev.actor_id.startswith(v) or name == v for v in values)


class EventBus:
    def __init__(self) -> None:
        self._history: collections.deque[Event] = collections.deque(maxlen=HISTORY)
        self._subscribers: set[asyncio.Queue[Event]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @property
    def listeners(self) -> int:
        """Clients streaming events now (`docker info`'s NEventsListener)."""
        return len(self._subscribers)

    def publish(
        self, type_: str, action: str, actor_id: str, attributes: Mapping[str, str] | None = None
    ) -> Event:
        ev = Event(type_, action, actor_id, dict(attributes or {}), time.time_ns())
        log.debug("event type=%s action=%s id=%s", type_, action, actor_id[:12])
        with self._lock:
            self._history.append(ev)
        loop = self._loop
        if loop is None:
            return ev
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._fan_out(ev)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(self._fan_out, ev)
        return ev

    def _fan_out(self, ev: Event) -> None:
        for q in list(self._subscribers):
            q.put_nowait(ev)

    async def stream(
        self, since_ns: int | None, until_ns: int | None, flt: EventFilter
    ) -> AsyncIterator[Event]:
        """History since `since_ns`, then live events, until `until_ns` (or forever)."""
        q: asyncio.Queue[Event] = asyncio.Queue()
        self._subscribers.add(q)  # subscribe before reading history so nothing falls between
        try:
            with self._lock:
                past = list(self._history)
            last = 0
            if since_ns is not None:
                for ev in past:
                    if ev.time_nano < since_ns:
                        continue
                    if until_ns is not None and ev.time_nano > until_ns:
                        return
                    last = ev.time_nano
                    if flt.matches(ev):
                        yield ev
            while True:
                timeout = None
                if until_ns is not None:
                    timeout = (until_ns - time.time_ns()) / 1e9
                    if timeout <= 0:
                        return
                try:
                    ev = await asyncio.wait_for(q.get(), timeout)
                except TimeoutError:
                    return
                if ev.time_nano <= last:  # already sent from history
                    continue
                if until_ns is not None and ev.time_nano > until_ns:
                    return
                if flt.matches(ev):
                    yield ev
        finally:
            self._subscribers.discard(q)
