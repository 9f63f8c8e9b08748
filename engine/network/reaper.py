"""Host veths of ended containers, deleted off the critical path.

A container's namespace dies with its last process once its bind mount is gone, and the kernel then deletes
the veth pair itself (in one batch for many namespaces, as `down` makes them). Deleting each veth ourselves
costs an RCU grace period (~20-35 ms) under the rtnl lock, which an exiting container (and `docker run
--rm`, which waits for the removal) would wait for. So a detach only queues the host names here; after a
short grace the reaper deletes whichever the kernel has not (a namespace still held by a `container:<id>`
sharer). A daemon that dies with names queued loses nothing: its start-up reconcile deletes every veth
with its prefix that no live attachment names.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)

GRACE_S = 0.3  # the kernel's namespace cleanup usually takes a few ms; this leaves it room under load


class VethReaper:
    def __init__(self, delete: Callable[[str], None], grace: float = GRACE_S) -> None:
        self._delete = delete
        self._grace = grace
        self._cond = threading.Condition()
        self._queue: list[tuple[float, str]] = []
        self._thread: threading.Thread | None = None

    def reap(self, names: Iterable[str]) -> None:
        due = time.monotonic() + self._grace
        with self._cond:
            self._queue.extend((due, n) for n in names)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="veth-reaper", daemon=True)
                self._thread.start()
            self._cond.notify()

    def pending(self) -> set[str]:
        with self._cond:
            return {n for _, n in self._queue}

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                due, name = self._queue[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                self._queue.pop(0)
            try:
                self._delete(name)  # gone already (the usual case) is success
            except Exception as e:  # the reconcile at the next daemon start deletes it then
                log.warning("veth not deleted name=%s error=%s", name, e)
