"""Debounce: file events collected until the tree is quiet for `quiet` seconds (or `longest` passed since
the first one), then handed over as one batch per service. A `git checkout` of 500 files is one batch. When
the batch holds one file and its last event closed it (an editor's save is complete), a shorter quiet
(`settled`) closes it; from the second path on (a burst) the quiet window applies, so bursts still merge
on a loaded machine whose writer may pause for more than `settled` between files."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

QUIET = 0.03  # seconds without events that close a batch: an editor's save is a few events within ~10 ms
SETTLED = 0.015  # the same after the batch's only file was closed: an editor's save is done
UNCLOSED = 0.5  # how long a file opened for writing (no close event yet) may hold its batch back
LONGEST = 10.0  # a steady stream of events (a long checkout) still flushes this often


@dataclass(frozen=True)
class Batch:
    service: str
    paths: frozenset[Path] = field(default_factory=frozenset)


class Debouncer:
    """Thread-safe: `add(service, path)` from the watchdog thread; `flush` runs on the debouncer's own
    thread, one batch per service, in the order the services were first touched."""

    def __init__(
        self,
        flush: Callable[[Batch], None],
        quiet: float = QUIET,
        longest: float = LONGEST,
        settled: float = SETTLED,
    ) -> None:
        self._flush = flush
        self._quiet = quiet
        self._settled_quiet = min(settled, quiet)
        self._settled = False  # the batch's one file is saved and closed
        self._longest = longest
        self._pending: dict[str, set[Path]] = {}
        self._writing: set[Path] = set()  # created/modified but not closed yet: a save in progress
        self._first = 0.0
        self._last = 0.0
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="watch-debounce", daemon=True)
        self._thread.start()

    def add(self, service: str, path: Path, *, writing: bool | None = None) -> None:
        """`writing`: True when the event says the file is being written (created/modified), False when
        it was closed after writing, None when the event says neither (deleted, moved, polling)."""
        with self._cond:
            if writing is True:
                self._writing.add(path)
            elif writing is False:
                self._writing.discard(path)
            now = time.monotonic()
            if not self._pending:
                self._first = now
            paths = self._pending.setdefault(service, set())
            paths.add(path)
            # one file saved and closed: settled. A second path means a burst: it keeps the quiet window
            self._settled = writing is False and not self._writing and len(self._pending) == len(paths) == 1
            self._last = now
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=5)

    def _take(self) -> list[Batch] | None:
        with self._cond:
            while True:
                if self._closed:
                    return None
                if not self._pending:
                    self._cond.wait()
                    continue
                now = time.monotonic()
                quiet = self._settled_quiet if self._settled else self._quiet
                if self._writing:  # wait for the writer's close (a slow writer made one create event)
                    quiet = max(quiet, UNCLOSED)
                due = min(self._last + quiet, self._first + self._longest)
                if now >= due:
                    batches = [Batch(s, frozenset(p)) for s, p in self._pending.items()]
                    self._pending = {}
                    self._writing = set()
                    self._settled = False
                    return batches
                self._cond.wait(due - now)

    def _run(self) -> None:
        while (batches := self._take()) is not None:
            for batch in batches:
                self._flush(batch)
