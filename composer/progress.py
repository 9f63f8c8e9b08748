"""Per-resource progress lines as `docker compose` prints them on stderr.

Plain (not a terminal, or --progress plain): one line per event, ` Container web-1  Started`.
TTY (--progress tty/auto on a terminal): one line per resource, redrawn in place with a `[+] Running n/m`
header. `--progress quiet` prints nothing.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import TextIO

DONE_WORDS = {
    "Created",
    "Started",
    "Stopped",
    "Removed",
    "Healthy",
    "Exited",
    "Pulled",
    "Built",
    "Running",
    "Recreated",
    "Error",
}


@dataclass
class _Line:
    kind: str
    name: str
    status: str
    detail: str
    started: float
    ended: float | None = None


MODES = ("auto", "tty", "plain", "quiet", "json")


class Progress:
    def __init__(
        self, mode: str = "auto", stream: TextIO | None = None, title: str = "Running", ansi: str = "auto"
    ) -> None:
        """mode: --progress; ansi: the global --ansi (never forces plain lines, always allows redraws)."""
        from composer.errors import ComposerError

        if mode not in MODES:
            raise ComposerError(f"invalid --progress {mode!r}: use auto, tty, plain or quiet")
        self.stream = stream or sys.stderr
        if mode == "json":
            mode = "plain"
        if mode == "auto":
            tty = self.stream.isatty() if ansi == "auto" else ansi == "always"
            mode = "tty" if tty else "plain"
        if mode == "tty" and ansi == "never":
            mode = "plain"
        self.mode = mode
        self.title = title
        self._lines: dict[tuple[str, str], _Line] = {}
        self._lock = threading.Lock()
        self._drawn = 0

    def event(self, kind: str, name: str, status: str, detail: str = "") -> None:
        """kind: Container/Network/Volume/Image; status: Creating, Created, Starting, Waiting ..."""
        if self.mode == "quiet":
            return
        with self._lock:
            now = time.monotonic()
            line = self._lines.get((kind, name))
            if line is None:
                line = self._lines[(kind, name)] = _Line(kind, name, status, detail, now)
            elif (line.status, line.detail) == (status, detail):
                return  # repeated polls report nothing new
            line.status, line.detail = status, detail
            line.ended = now if status in DONE_WORDS else None
            if self.mode == "plain":
                self.stream.write(f" {kind} {name}  {status}{(' ' + detail) if detail else ''}\n")
                self.stream.flush()
            else:
                self._redraw()

    def _redraw(self) -> None:
        out = []
        if self._drawn:
            out.append(f"\x1b[{self._drawn}A")
        done = sum(1 for line in self._lines.values() if line.ended is not None)
        out.append(f"\x1b[2K[+] {self.title} {done}/{len(self._lines)}\n")
        width = max((len(f"{line.kind} {line.name}") for line in self._lines.values()), default=0)
        now = time.monotonic()
        for line in self._lines.values():
            mark = "\x1b[32m✔\x1b[0m" if line.ended is not None else " "
            spent = (line.ended or now) - line.started
            label = f"{line.kind} {line.name}".ljust(width)
            text = f"{line.status}{(' ' + line.detail) if line.detail else ''}"
            out.append(f"\x1b[2K {mark} {label}  {text:<24}{spent:5.1f}s\n")
        self._drawn = len(self._lines) + 1
        self.stream.write("".join(out))
        self.stream.flush()

    def note(self, text: str) -> None:
        """A free line (warnings, hints) that must not be overwritten by the redraw."""
        with self._lock:
            self.stream.write(text + "\n")
            self._drawn = 0
            self.stream.flush()
