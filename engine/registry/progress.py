"""Docker's JSON progress messages for pull and push (what `docker pull` renders), sent through a callback."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

Message = dict[str, Any]
ProgressCallback = Callable[[Message], None]
MIN_INTERVAL = 0.1  # seconds between two byte-progress messages of one layer


def short_id(digest: str) -> str:
    """Docker shows the first 12 hex digits of a digest as a layer's id."""
    return digest.partition(":")[2][:12] or digest[:12]


def _bar(current: int, total: int) -> str:
    """The text bar Docker puts in "progress" (clients that ignore progressDetail print it)."""
    if total <= 0:
        return f"{_human(current)}"
    width = 50
    filled = min(width, current * width // total)
    arrow = ">" if filled < width else ""
    bar = "=" * max(filled - 1 if arrow else filled, 0) + arrow
    return f"[{bar:<{width}}] {_human(current)}/{_human(total)}"


def _human(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.4g}{unit}" if unit != "B" else f"{n}B"
        n /= 1000  # type: ignore[assignment]
    return f"{n}B"


class Progress:
    """Thread-safe emitter; layer downloads in parallel threads all report through one callback."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self._cb = callback
        self._lock = threading.Lock()
        self._last: dict[str, tuple[int, float]] = {}  # (bytes, monotonic time) last reported

    def emit(self, msg: Message) -> None:
        if self._cb is None:
            return
        with self._lock:
            self._cb(msg)

    def status(self, status: str, ident: str | None = None) -> None:
        msg: Message = {"status": status}
        if ident is not None:
            msg["id"] = ident
        self.emit(msg)

    def layer(self, status: str, ident: str) -> None:
        self.emit({"status": status, "progressDetail": {}, "id": ident})

    def bytes(self, status: str, ident: str, current: int, total: int, min_interval: float = 0.0) -> None:
        """Byte progress, thinned to steps of at least ~1% and, with `min_interval` (dockerd's downloads use
        0.1 s), to a rate per layer; the first and the last always go out, so a fast loopback pull does
        not flood the client."""
        step = max(total // 100, 64 * 1024) if total else 512 * 1024
        key = f"{status}:{ident}"
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if (
                last is not None
                and current != total
                and (current - last[0] < step or now - last[1] < min_interval)
            ):
                return
            self._last[key] = (current, now)
        detail: dict[str, int] = {"current": current}
        if total:
            detail["total"] = total
        self.emit({"status": status, "progressDetail": detail, "progress": _bar(current, total), "id": ident})

    def aux(self, data: dict[str, Any]) -> None:
        self.emit({"progressDetail": {}, "aux": data})
