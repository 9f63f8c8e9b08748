"""Engine events as wake-ups: a waiter re-checks a condition when something happened to the containers it
watches (start, die, health_status ...) instead of on a short timer. The event stream is opened before
the first check, so nothing that happens in between is missed; a re-check every `fallback` seconds covers
a stream that ended or an engine that sends no events.

    with Wakeups(api, L.service_filter(project, "kv")) as wake:
        while not ready():
            wake.wait()
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

log = logging.getLogger(__name__)

FALLBACK = 1.0  # seconds: the longest a waiter sleeps without an event


class Wakeups:
    def __init__(self, api: Any, filters: Mapping[str, Sequence[str]], *, fallback: float = FALLBACK) -> None:
        self._fallback = fallback
        self._event = threading.Event()
        self._stream: Any = None
        wanted = {"type": ["container"], **{k: list(v) for k, v in filters.items()}}
        try:
            self._stream = api.events(decode=True, filters=wanted)
        except Exception as exc:  # no event stream: the fallback re-check still makes progress
            log.debug("no event stream filters=%s error=%s", wanted, exc)
            return
        self._thread = threading.Thread(target=self._read, name="wakeups", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for _ in self._stream:
                self._event.set()
        except Exception as exc:  # closed by close(), or the engine went away: fall back to the timer
            log.debug("event stream ended error=%s", exc)

    def wait(self) -> None:
        """Until an event arrived since the last wait (or `fallback` seconds passed)."""
        self._event.wait(self._fallback)
        self._event.clear()

    def close(self) -> None:
        if self._stream is not None:
            with contextlib.suppress(Exception):  # closing an already broken stream
                self._stream.close()
            self._stream = None

    def __enter__(self) -> Wakeups:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
