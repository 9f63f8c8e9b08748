"""Engine events as wake-ups: a waiter re-checks a condition when something happened to the containers it
watches (start, die, health_status ...) instead of on a short timer. The event stream is opened by the
first `wait()`, which returns at once so the caller checks again with the stream open: nothing that
happens in between is missed, and a condition met at the first look costs no stream. A re-check every
`fallback` seconds covers a stream that ended or an engine without events.

    with Wakeups(api, L.service_filter(project, "kv")) as wake:
        while not ready():
            wake.wait()          # the first call subscribes and returns: ready() is checked again
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence
from types import TracebackType

from composer._log import get_logger
from composer._typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

log = get_logger(__name__)

FALLBACK = 1.0  # seconds: the longest a waiter sleeps without an event


class Wakeups:
    def __init__(self, api: Any, filters: Mapping[str, Sequence[str]], *, fallback: float = FALLBACK) -> None:
        self._api = api
        self._filters = {"type": ["container"], **{k: list(v) for k, v in filters.items()}}
        self._fallback = fallback
        self._event = threading.Event()
        self._stream: Any = None
        self._opened = False

    def _open(self) -> None:
        self._opened = True
        try:
            self._stream = self._api.events(decode=True, filters=self._filters)
        except Exception as exc:  # no event stream: the fallback re-check still makes progress
            log.debug("no event stream filters=%s error=%s", self._filters, exc)
            return
        threading.Thread(target=self._read, name="wakeups", daemon=True).start()

    def _read(self) -> None:
        try:
            for _ in self._stream:
                self._event.set()
        except Exception as exc:  # closed by close(), or the engine went away: fall back to the timer
            log.debug("event stream ended error=%s", exc)

    def wait(self) -> None:
        """Until an event arrived since the last wait (or `fallback` seconds passed); the first call opens
        the stream and returns at once."""
        if not self._opened:
            self._open()
            return
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
