"""watchdog events -> debounced batches -> actions; optionally the project file(s) and `.env` too, whose
saved edits are re-loaded and re-applied (only what changed is recreated; an invalid edit changes nothing).

    w = Watcher(session, services, say, reapply=True)
    w.start()          # initial syncs, then watching; inotify, or polling when inotify is unavailable
    w.stop()
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler

from composer.errors import ComposerError
from composer.watch import actions
from composer.watch.batch import Batch, Debouncer
from composer.watch.rules import WatchRule, rules_for

if TYPE_CHECKING:
    from composer.session import Session

log = logging.getLogger(__name__)

PROJECT = "\0project"  # the debouncer key of project-file edits


def watched_services(session: Session, services: Sequence[str]) -> list[str]:
    names = list(services) or list(session.project.services)
    return [n for n in names if (session.project.services[n].options.get("develop") or {}).get("watch")]


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: Watcher) -> None:
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.is_directory and event.event_type == "modified":
            return  # a child's own event says what changed
        writing = None
        if not event.is_directory and event.event_type in ("created", "modified"):
            writing = not self._watcher.polling  # polling sees no close events: never wait for one
        elif event.event_type == "closed":
            writing = False
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if raw:
                self._watcher.route(Path(raw if isinstance(raw, str) else raw.decode()), writing)


class Watcher:
    def __init__(
        self,
        session: Session,
        services: Sequence[str],
        say: actions.Say,
        *,
        reapply: bool = False,
        prune: bool = False,
        progress: str = "quiet",
    ) -> None:
        self.session = session
        self._services = tuple(services)
        self._say = say
        self._reapply = reapply
        self._prune = prune
        self._progress = progress  # the rebuild's build/progress output: quiet or plain
        self._lock = threading.Lock()
        self._observer: Any = None
        self.polling = False
        self.rules: tuple[WatchRule, ...] = self._rules(session)
        self._debouncer = Debouncer(self._flush)

    def _rules(self, session: Session) -> tuple[WatchRule, ...]:
        return rules_for(
            session.project, watched_services(session, self._services), session.loaded.config_files
        )

    def _project_files(self) -> set[Path]:
        files = {Path(f).resolve() for f in self.session.loaded.config_files}
        files.add((Path(self.session.loaded.working_dir) / ".env").resolve())
        return files

    def start(self) -> None:
        actions.initial_sync(self.session, self.rules, self._say)
        self._schedule()

    def _schedule(self) -> None:
        dirs: dict[Path, bool] = {}
        for rule in self.rules:
            if rule.path.is_dir():
                dirs[rule.path] = True
            else:
                dirs.setdefault(rule.path.parent, False)
        if self._reapply:
            for f in self._project_files():
                dirs.setdefault(f.parent, False)
        dirs = {
            d: r
            for d, r in dirs.items()
            if not any(o != d and rr and d.is_relative_to(o) for o, rr in dirs.items())
        }
        from watchdog.observers import Observer

        handler = _Handler(self)
        try:
            observer = Observer()
            for d, recursive in dirs.items():
                observer.schedule(handler, str(d), recursive=recursive)
            observer.start()
        except OSError as exc:  # no inotify, or its watch/instance limit reached
            from watchdog.observers.polling import PollingObserver

            with contextlib.suppress(Exception):  # emitters that did start go away with it
                observer.stop()

            self._say(f"inotify unavailable ({exc.strerror or exc}): polling for changes instead")
            self.polling = True
            observer = PollingObserver(timeout=0.5)
            for d, recursive in dirs.items():
                observer.schedule(handler, str(d), recursive=recursive)
            observer.start()
        self._observer = observer
        log.debug("watching dirs=%s polling=%s", sorted(map(str, dirs)), self.polling)

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None
        self._debouncer.close()

    def route(self, path: Path, writing: bool | None = None) -> None:
        if self._reapply and path in self._project_files():
            self._debouncer.add(PROJECT, path, writing=writing)
            return
        for rule in self.rules:
            if rule.relative(path) is not None:
                self._debouncer.add(rule.service, path, writing=writing)

    def _flush(self, batch: Batch) -> None:
        with self._lock:
            try:
                if batch.service == PROJECT:
                    self._apply_project()
                else:
                    actions.apply(
                        self.session,
                        self.rules,
                        batch.service,
                        batch.paths,
                        self._say,
                        prune=self._prune,
                        progress=self._progress,
                    )
            except ComposerError as exc:
                self._say(f"Watch: {exc}")
            except Exception:  # one failing batch must not end watching
                log.exception("watch batch failed service=%s", batch.service)
                self._say(f"Watch: applying changes to {batch.service} failed unexpectedly (see --debug)")

    def _apply_project(self) -> None:
        from composer.watch.reapply import reapply

        session = reapply(self.session, self._say)
        if session is None:
            return
        self.session = session
        rules = self._rules(session)
        if rules != self.rules:
            self.rules = rules
            if self._observer is not None:
                self._observer.stop()
                self._observer.join(timeout=5)
            self._schedule()
