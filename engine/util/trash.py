"""Directory trees deleted off the request path.

A removed container's record directory and read-write layer are renamed into a trash directory at once (one
rename: atomic, and the name is free again), and one background thread deletes them. dockerd deletes them
before it answers; that was 5-15 ms of every `docker rm` on this disk, and a `down` waits for each level's
removals before it stops the next level. What a killed daemon leaves in the trash goes at its next start.
"""

from __future__ import annotations

import logging
import os
import queue
import secrets
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

Remover = Callable[[Path], None]


def _rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


class Trash:
    def __init__(self, root: Path, remove: Remover = _rmtree) -> None:
        self.root = root
        self._remove = remove
        self._queue: queue.SimpleQueue[Path] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._pending = 0
        self._idle = threading.Condition(self._lock)
        root.mkdir(parents=True, exist_ok=True)
        for left in root.iterdir():  # a daemon killed while it deleted
            self._enqueue(left)

    def discard(self, path: Path, first: Path | None = None) -> None:
        """Take `path` away now (gone when this returns), delete it later. Synchronous when it cannot be
        renamed into the trash (another filesystem): then `first` (a file in it) goes before the rest."""
        dest = self.root / f"{path.name}-{secrets.token_hex(4)}"
        try:
            os.rename(path, dest)
        except FileNotFoundError:
            return
        except OSError as e:
            log.debug("trash rename failed, deleting in place path=%s error=%s", path, e)
            if first is not None:
                first.unlink(missing_ok=True)
            self._remove(path)
            return
        self._enqueue(dest)

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until everything discarded so far is deleted (tests, shutdown). False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _enqueue(self, path: Path) -> None:
        with self._lock:
            self._pending += 1
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="trash", daemon=True)
                self._worker.start()
        self._queue.put(path)

    def _run(self) -> None:
        while True:
            path = self._queue.get()
            try:
                self._remove(path)
            except OSError as e:
                log.warning("trash not deleted path=%s error=%s", path, e)
            with self._idle:
                self._pending -= 1
                if self._pending == 0:
                    self._idle.notify_all()
