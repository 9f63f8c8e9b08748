"""Links the engine no longer uses, deleted off the critical path.

Deleting a link costs an RCU grace period (~20-35 ms) under the kernel's rtnl lock, which an exiting
container (and `docker run --rm`, which waits for the removal) or a `network rm` (the last step of `down`)
would otherwise wait for.
- Host veths of ended containers: the namespace dies with its last process once its bind mount is gone,
  and the kernel then deletes the veth pair itself (in one batch for many namespaces, as `down` makes
  them). A detach only queues the host names here; after a short grace the reaper deletes whichever the
  kernel has not (a namespace still held by a `container:<id>` sharer). A daemon that dies with names
  queued loses nothing: its start-up reconcile deletes every veth with its prefix no live attachment names.
- Bridges of removed networks: queued with no grace; the caller leaves a tombstone on disk first and clears
  it in `done`, so a daemon killed meanwhile deletes the bridge at its next start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)

GRACE_S = 0.3  # the kernel's namespace cleanup usually takes a few ms; this leaves it room under load


class LinkReaper:
    def __init__(self, delete: Callable[[str], None], grace: float = GRACE_S) -> None:
        self._delete = delete
        self._grace = grace
        self._cond = threading.Condition()
        self._queue: list[tuple[float, str, Callable[[str], None] | None]] = []
        self._thread: threading.Thread | None = None

    def reap(
        self, names: Iterable[str], grace: float | None = None, done: Callable[[str], None] | None = None
    ) -> None:
        """Delete `names` after `grace` (default: the reaper's); `done(name)` runs once each is gone."""
        due = time.monotonic() + (self._grace if grace is None else grace)
        with self._cond:
            self._queue.extend((due, n, done) for n in names)
            self._queue.sort(key=lambda item: item[0])
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="link-reaper", daemon=True)
                self._thread.start()
            self._cond.notify()

    def pending(self) -> set[str]:
        with self._cond:
            return {n for _, n, _ in self._queue}

    def take(self, name: str) -> bool:
        """Withdraw `name` (the caller deletes it itself now, before reusing the name)."""
        with self._cond:
            kept = [item for item in self._queue if item[1] != name]
            found = len(kept) != len(self._queue)
            self._queue = kept
            return found

    def flush(self) -> None:
        """Delete everything queued now, in this thread (daemon shutdown)."""
        with self._cond:
            items, self._queue = self._queue, []
        for _, name, done in items:
            self._finish(name, done)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._cond.wait()
                due, name, done = self._queue[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                self._queue.pop(0)
            self._finish(name, done)

    def _finish(self, name: str, done: Callable[[str], None] | None) -> None:
        try:
            self._delete(name)  # gone already (the usual case for veths) is success
            if done is not None:
                done(name)
        except Exception as e:  # the reconcile at the next daemon start deletes it then
            log.warning("link not deleted name=%s error=%s", name, e)
