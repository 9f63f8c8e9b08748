"""Progress on stderr as `docker compose` (2.40) shows it.

Every resource is an event line with an id ("Container web-1", a service name, a layer id), an optional
parent (a layer's service), a text ("Pulling", "Downloading"), a status text ("Started", a layer's
`[====>  ]  1.049MB/3.002MB`), a state (working, done, warning, error) and, for layers, byte counts.

- tty (--progress tty, or auto on a terminal): the lines redrawn in place under a `[+] <Title> done/all`
  summary; children indented under their parent; a working parent with children shows one braille bar per
  child (⠀⡀⣀⣄⣤⣦⣶⣷⣿) and the bytes done / total; each line ends with its elapsed time at the right edge.
- plain (not a terminal, --progress plain): one line per event, ` <id> <text> <status>`.
- json (--progress json): one JSON object per event: {"id", "parent_id", "text", "status", "current",
  "total", "percent"}, empty fields left out.
- quiet: nothing.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import dataclass

from composer._typecheck import TYPE_CHECKING

if TYPE_CHECKING:
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
    "Killed",
    "Paused",
    "Unpaused",
}

MODES = ("auto", "tty", "plain", "quiet", "json")
WORKING, DONE, WARNING, ERROR = "working", "done", "warning", "error"

_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_MARK = {DONE: "✔", WARNING: "!", ERROR: "✘"}
_PERCENT_CHARS = "⠀⡀⣀⣄⣤⣦⣶⣷⣿"
_BLUE, _YELLOW, _GREEN, _RED, _BOLD_RED, _BOLD_YELLOW, _RESET = (
    "\x1b[34m", "\x1b[33m", "\x1b[32m", "\x1b[31m", "\x1b[31;1m", "\x1b[33;1m", "\x1b[0m")
_REDRAW_EVERY = 0.1  # seconds: byte-count updates faster than this are drawn with the next one


@dataclass
class _Line:
    """One line of the progress display."""

    id: str
    parent: str
    text: str
    status: str
    state: str
    started: float
    ended: float | None = None
    current: int = 0
    total: int = 0
    percent: int = 0


class Progress:
    def __init__(
        self, mode: str = "auto", stream: TextIO | None = None, title: str = "Running", ansi: str = "auto"
    ) -> None:
        """mode: --progress; ansi: the global --ansi (never forces plain lines, always allows redraws)."""
        from composer.errors import ComposerError

        if mode not in MODES:
            raise ComposerError(f"invalid --progress {mode!r}: use auto, tty, plain, json or quiet")
        self.stream = stream or sys.stderr
        if mode == "auto":
            tty = self.stream.isatty() if ansi == "auto" else ansi == "always"
            mode = "tty" if tty else "plain"
        if mode == "tty" and ansi == "never":
            mode = "plain"
        self.mode = mode
        self.title = title
        self._lines: dict[str, _Line] = {}
        self._lock = threading.Lock()
        self._drawn = 0
        self._last_draw = 0.0

    # ---- what callers report ----

    def event(self, kind: str, name: str, status: str, detail: str = "") -> None:
        """A resource's step: kind Container/Network/Volume/Image, status Creating, Created, Starting ..."""
        state = ERROR if status == "Error" else DONE if status in DONE_WORDS else WORKING
        self.emit(f"{kind} {name}", status=f"{status} {detail}" if detail else status, state=state)

    def emit(
        self,
        id: str,
        *,
        text: str = "",
        status: str = "",
        state: str = WORKING,
        parent: str = "",
        current: int = 0,
        total: int = 0,
        percent: int = 0,
    ) -> None:
        if self.mode == "quiet":
            return
        with self._lock:
            now = time.monotonic()
            line = self._lines.get(id)
            if line is None:
                line = _Line(id, parent, text, status, state, now, None, current, total, percent)
                self._lines[id] = line
                counts_only = False
            else:
                changed = (line.text, line.status, line.state, line.current, line.total) != (
                    text, status, state, max(line.current, current), max(line.total, total))
                if not changed:  # repeated polls report nothing new; on a terminal the clocks still move
                    if self.mode == "tty" and now - self._last_draw >= _REDRAW_EVERY:
                        self._redraw(now)
                    return
                counts_only = (line.text, line.state) == (text, state)
                if state == WORKING:
                    line.ended = None
                line.text, line.status, line.state = text, status, state
                line.parent = line.parent or parent
                # counts never go back: the bar of a layer moves forward only
                line.current, line.total = max(line.current, current), max(line.total, total)
                line.percent = max(line.percent, percent)
            if state != WORKING and line.ended is None:
                line.ended = now
            if self.mode == "json":
                self._write_json(id, parent, text, status, current, total, percent)
            elif self.mode == "plain":
                self.stream.write(" ".join(("", id, text, status)) + "\n")
                self.stream.flush()
            elif not counts_only or now - self._last_draw >= _REDRAW_EVERY:
                self._redraw(now)  # a layer's byte counts alone redraw at most every 100 ms

    def note(self, text: str) -> None:
        """A free line (warnings, hints) that must not be overwritten by the redraw."""
        with self._lock:
            if self.mode == "json":  # Compose's "tail" message
                text = json.dumps({"tail": True, "text": text}, separators=(",", ":"))
            self.stream.write(text + "\n")
            self._drawn = 0
            self.stream.flush()

    def close(self) -> None:
        """The last frame (timers stopped where their lines ended)."""
        if self.mode == "tty":
            with self._lock:
                if self._lines:
                    self._redraw(time.monotonic())

    # ---- json ----

    def _write_json(self, id: str, parent: str, text: str, status: str, current: int, total: int,
                    percent: int) -> None:
        fields = {"id": id, "parent_id": parent, "text": text, "status": status, "current": current,
                  "total": total, "percent": percent}
        message = {key: value for key, value in fields.items() if value}
        text = json.dumps(message, separators=(",", ":"))
        # Go's encoder escapes <, > and & in strings: the same bytes as Compose's lines
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        self.stream.write(text + "\n")
        self.stream.flush()

    # ---- tty ----

    def _width(self) -> int:
        try:
            return os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            return 80

    def _redraw(self, now: float) -> None:
        self._last_draw = now
        width = self._width()
        lines = list(self._lines.values())
        done = sum(1 for line in lines if line.state != WORKING)
        header = f"[+] {self.title} {done}/{len(lines)}"
        if done == len(lines):
            header = f"{_BLUE}{header}{_RESET}"
        padding = 0  # the status column, computed as Compose computes it (children shift it left by 2)
        for line in lines:
            padding = max(padding, len(f"{line.id} {line.text}"))
            if line.parent:
                padding -= 2
        out = [f"\x1b[{self._drawn}A" if self._drawn else "", "\r\x1b[?25l", header, "\n"]
        count = 0
        for line in lines:
            if line.parent and line.parent in self._lines:
                continue
            out.append(self._line_text(line, "", width, padding, now))
            count += 1
            for child in lines:
                if child.parent == line.id:
                    out.append(self._line_text(child, "  ", width, padding, now))
                    count += 1
        out.append("\x1b[?25h")
        self._drawn = count + 1
        self.stream.write("".join(out))
        self.stream.flush()

    def _line_text(self, line: _Line, pad: str, width: int, padding: int, now: float) -> str:
        elapsed = ((line.ended if line.ended is not None else now) - line.started)
        children = [c for c in self._lines.values() if c.parent == line.id] if line.state == WORKING else []
        txt = f"{line.id} {line.text}"
        if children:
            total = sum(c.total for c in children)
            current = sum(c.current for c in children)
            hide = total == 0 or any(c.state == WORKING and c.total == 0 for c in children)
            bars = "".join(_PERCENT_CHARS[(len(_PERCENT_CHARS) - 1) * min(c.percent, 100) // 100]
                           for c in children)
            details = "" if hide else f" {human_size(current):>7} / {human_size(total):<7}"
            txt = f"{line.id} [{_GREEN}{bars}{_RESET}]{details} {line.text}"
            visible = len(f"{line.id} [{bars}]{details} {line.text}")
        else:
            visible = len(txt)
        status = line.status
        room = width - visible - padding - 15
        if room > 0 and len(status) > room:
            status = status[:room] + "..."
        if line.state == WORKING:
            mark = f"{_YELLOW}{_SPINNER[int(elapsed * 10) % len(_SPINNER)]}{_RESET}"
        else:
            color = {DONE: _GREEN, WARNING: _BOLD_YELLOW, ERROR: _BOLD_RED}[line.state]
            mark = f"{color}{_MARK[line.state]}{_RESET}"
            status = f"{color}{status}{_RESET}" if status else status
        left = f"{pad} {mark} {txt}{' ' * max(padding - visible, 0)} {status}"
        timer = f"{elapsed:.1f}s "
        gap = width - _visible_len(left) - len(timer)
        return f"{left}{' ' * max(gap, 0)}{_BLUE}{timer}{_RESET}\n"


def _visible_len(text: str) -> int:
    """Characters a terminal shows: ANSI color sequences take no room."""
    length, in_escape = 0, False
    for ch in text:
        if ch == "\x1b":
            in_escape = True
        elif in_escape:
            in_escape = ch != "m"
        else:
            length += 1
    return length


def human_size(size: float) -> str:
    """go-units HumanSize: decimal units, 4 significant digits ("1.049MB", "248B")."""
    units = ("B", "kB", "MB", "GB", "TB", "PB")
    i = 0
    while size >= 1000 and i < len(units) - 1:
        size /= 1000
        i += 1
    return f"{size:.4g}{units[i]}"


def layer_bar(current: int, total: int) -> str:
    """A layer's progress as the docker CLI prints it (moby's JSONProgress for a wide terminal):
    `[=================>                                 ]  1.049MB/3.002MB`."""
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return f"{human_size(current):>8}"
    filled = min(int(current / total * 100) // 2, 50)
    numbers = f"{human_size(current):>8}"
    if current <= total:
        numbers += f"/{human_size(total)}"
    return f"[{'=' * filled}>{' ' * (50 - filled)}] {numbers}"
