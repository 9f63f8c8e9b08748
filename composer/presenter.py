"""User-facing output: the one place that writes results and error lines for the CLI.

Log calls are for operators; everything a user is meant to read goes through here. Output streams are looked
up at call time so tests capturing sys.stdout/sys.stderr see it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

from composer._typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import TextIO

ANSI_MODES = ("never", "always", "auto")


def use_color(mode: str, stream: TextIO | None = None) -> bool:
    """--ansi never|always|auto: auto means a terminal and no NO_COLOR in the environment."""
    if mode == "always":
        return True
    if mode == "never":
        return False
    stream = stream or sys.stdout
    return stream.isatty() and "NO_COLOR" not in os.environ


def out(text: str = "", *, stream: TextIO | None = None) -> None:
    (stream or sys.stdout).write(text if text.endswith("\n") or not text else text + "\n")


def lines(items: Iterable[str], *, stream: TextIO | None = None) -> None:
    target = stream or sys.stdout
    for item in items:
        target.write(item + "\n")


def error_line(message: str, hint: str | None = None) -> None:
    """One line on stderr: multi-line messages are folded so a user sees one line per error."""
    text = " ".join(part.strip() for part in message.splitlines() if part.strip())
    if hint:
        text += f" (hint: {hint})"
    sys.stderr.write(text + "\n")


def warn(message: str) -> None:
    sys.stderr.write(f"WARNING: {message}\n")
