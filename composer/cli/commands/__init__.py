"""Commands of the `composer` CLI, one module each.

A command module has a docopt usage as its docstring (first line: the one-line summary shown by
`composer --help`), `run(argv, options) -> int`, and optionally a module-level `SUPPORTS_DRY_RUN = True`
line. Adding a command means adding a module here; nothing else needs editing. Modules must keep heavy
imports (yaml, jsonschema, the engine client) inside functions so every command starts fast.

A command runs after importing only its own module; `composer --help` reads the summaries (and the dry-run
line) from the modules' source without importing any of them (importing all ~30 cost ~12 ms).
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType


@functools.cache  # `composer --help` asks once per command; the directory does not change meanwhile
def _found() -> tuple[str, ...]:
    found = [m.name.replace("_", "-") for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
    return tuple(sorted(found))


def names() -> list[str]:
    """Command names, from the module files (without importing them)."""
    return list(_found())


def load(name: str) -> ModuleType | None:
    if name not in _found():
        return None
    return importlib.import_module(f"{__name__}.{name.replace('-', '_')}")


def summary(module: ModuleType) -> str:
    doc = (module.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


@dataclass(frozen=True)
class Listing:
    """What `composer --help` shows of a command."""

    name: str
    summary: str
    supports_dry_run: bool


_DRY_RUN_LINE = re.compile(r"^SUPPORTS_DRY_RUN = True\s*$", re.MULTILINE)


def listing(name: str) -> Listing | None:
    """The command's summary and dry-run support, read from its source when it is not imported yet."""
    module_name = f"{__name__}.{name.replace('-', '_')}"
    module = sys.modules.get(module_name)
    if module is None:
        source = _source(name)
        if source is not None and source.startswith('"""'):
            first = source[3:].split("\n", 1)[0].strip()
            return Listing(name, first, bool(_DRY_RUN_LINE.search(source)))
        module = load(name)
        if module is None:
            return None
    return Listing(name, summary(module), bool(getattr(module, "SUPPORTS_DRY_RUN", False)))


def _source(name: str) -> str | None:
    for directory in __path__:
        try:
            return (Path(directory) / f"{name.replace('-', '_')}.py").read_text(encoding="utf-8")
        except OSError:
            continue
    return None
