"""The container store: records on disk under <data-root>/containers/<id>/, indexed by id and name."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path

from engine.containers.model import Container
from engine.errors import Conflict, InvalidParameter, NotFound
from engine.util.atomic import Sync, atomic_write_all, read_json
from engine.util.trash import Trash

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


class ContainerStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._by_id: dict[str, Container] = {}
        self._names: dict[str, str] = {}  # name -> id
        self._lock = threading.RLock()  # the indexes; never held across disk writes
        # one per container: orders its record writes (and its removal) without making the exits of a
        # `down` wait for each other's fsyncs, as one lock around every write did
        self._record_locks: dict[str, threading.RLock] = {}
        self._trash = Trash(root / ".trash")  # removed records' directories, deleted in the background

    def dir(self, cid: str) -> Path:
        return self.root / cid

    def load(self) -> tuple[list[Container], list[str]]:
        """Read every record. Returns the records and the ids of directories without a committed record
        (a create or a removal cut short by a crash): their leftovers are the caller's to clean."""
        orphans: list[str] = []
        with self._lock:
            for d in sorted(self.root.iterdir()):
                if not d.is_dir() or d.name.startswith("."):
                    continue
                if not (d / "config.v2.json").exists():
                    orphans.append(d.name)
                    continue
                try:
                    c = Container.from_json(read_json(d / "config.v2.json"), read_json(d / "hostconfig.json"))
                except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
                    log.warning("skipping unreadable container record dir=%s error=%r", d, e)
                    continue
                self._by_id[c.id] = c
                self._names[c.name] = c.id
            return list(self._by_id.values()), orphans

    def _record_lock(self, cid: str) -> threading.RLock:
        with self._lock:
            return self._record_locks.setdefault(cid, threading.RLock())

    def save(self, c: Container) -> Container:
        with self._record_lock(c.id):
            return self._save(c)

    def _save(self, c: Container, sync: Sync = Sync.DATA) -> Container:
        """Write the record (the caller holds its record lock), then index it."""
        d = self.dir(c.id)
        d.mkdir(exist_ok=True)
        with self._lock:
            old = self._by_id.get(c.id)
        # hostconfig first: config.v2.json is the record's commit point. Most changes (state, health
        # probes) leave the host config alone: then it is not rewritten.
        # Sync.DATA: each file fsynced before its rename, the directory not (dockerd's checkpoint): after a
        # power cut the old or the new record, never a torn one; the last transition may be lost with the cut
        files = [(d / "config.v2.json", _json(c.to_json()))]
        if old is None or old.host_config != c.host_config:
            files.insert(0, (d / "hostconfig.json", _json(c.host_config)))
        atomic_write_all(files, sync=sync)
        with self._lock:
            if old is not None and old.name != c.name:
                self._names.pop(old.name, None)
            self._by_id[c.id] = c
            self._names[c.name] = c.id
        return c

    def update(self, cid: str, change: Callable[[Container], Container], sync: Sync = Sync.DATA) -> Container:
        """Apply `change` to the current record and save, atomically with respect to every other update of
        that container: an exit recorded by a worker thread is never overwritten by a change computed from
        an older copy. `sync`: see _save."""
        with self._record_lock(cid):
            with self._lock:
                current = self._by_id.get(cid)
            if current is None:
                raise NotFound(f"No such container: {cid}")
            new = change(current)
            return current if new is current else self._save(new, sync)

    def change_unwritten(self, cid: str, change: Callable[[Container], Container]) -> Container | None:
        """Apply `change` to the indexed record without writing it: for a field nothing reads from disk
        unless a later write carries it. Called on the event loop, so it never waits for a record write
        in progress: None then (the caller updates through a worker thread instead)."""
        lock = self._record_lock(cid)
        if not lock.acquire(blocking=False):
            return None
        try:
            with self._lock:
                current = self._by_id.get(cid)
                if current is None:
                    raise NotFound(f"No such container: {cid}")
                new = change(current)
                self._by_id[cid] = new
            return new
        finally:
            lock.release()

    def reserve_name(self, name: str, cid: str) -> None:
        """Claim a name; Docker's wording on conflicts."""
        if not NAME_RE.match(name):
            raise InvalidParameter(
                f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )
        name = name.lstrip("/")
        with self._lock:
            owner = self._names.get(name)
            if owner is not None and owner != cid:
                raise Conflict(
                    f'Conflict. The container name "/{name}" is already in use by container "{owner}". '
                    "You have to remove (or rename) that container to be able to reuse that name."
                )
            self._names[name] = cid

    def release_name(self, name: str, cid: str) -> None:
        with self._lock:
            if self._names.get(name) == cid:
                del self._names[name]

    def delete(self, cid: str) -> None:
        with self._record_lock(cid):  # no update of it can write the record again after this
            with self._lock:
                c = self._by_id.pop(cid, None)
                if c is not None:
                    self.release_name(c.name, cid)
                self._record_locks.pop(cid, None)
            # one rename takes the whole directory into the trash (emptied at the next start after a
            # crash); only where it cannot be renamed, the record goes first: a crash in the middle of the
            # deletion then leaves an orphan directory, never half a record
            self._trash.discard(self.dir(cid), first=self.dir(cid) / "config.v2.json")

    def get(self, ref: str) -> Container:
        """By full id, name (with or without "/"), or unique id prefix, as Docker resolves them."""
        with self._lock:
            if ref in self._by_id:
                return self._by_id[ref]
            name = ref.lstrip("/")
            if name in self._names and self._names[name] in self._by_id:
                return self._by_id[self._names[name]]
            if ref:
                matches = [c for cid, c in self._by_id.items() if cid.startswith(ref)]
                if len(matches) == 1:
                    return matches[0]
                if len(matches) > 1:
                    raise InvalidParameter(f"multiple IDs found with provided prefix: {ref}")
        raise NotFound(f"No such container: {ref}")

    def current(self, cid: str) -> Container | None:
        with self._lock:
            return self._by_id.get(cid)

    def all(self) -> list[Container]:
        with self._lock:
            return list(self._by_id.values())

    def name_taken(self, name: str) -> bool:
        with self._lock:
            return name in self._names


def _json(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()
