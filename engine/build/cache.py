"""The step cache: key = hash(parent image, the step as executed, its build args, its sources' content) ->
the image that step made. Kept in `<data-root>/build/cache.json`; an entry whose image is gone is a miss."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path

from engine.util.atomic import atomic_write_json, read_json

log = logging.getLogger(__name__)


def step_key(parent: str, step: str, extra: dict[str, str] | None = None) -> str:
    payload = json.dumps({"parent": parent, "step": step, "extra": extra or {}}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


class StepCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._entries: dict[str, str] = dict(read_json(path))
        except (FileNotFoundError, ValueError):
            self._entries = {}

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._entries.get(key)

    def clear(self) -> None:
        """Forget every step (build --no-cache from now on until steps are cached again)."""
        with self._lock:
            self._entries.clear()
            self.path.unlink(missing_ok=True)

    def put(self, key: str, image_id: str) -> None:
        with self._lock:
            self._entries[key] = image_id
            atomic_write_json(self.path, self._entries)
