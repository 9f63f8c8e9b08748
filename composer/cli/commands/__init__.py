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
import os
import re
import sys
from types import ModuleType

# This module is on the path of `composer --help` and `version`: it keeps to modules the interpreter or `re`
# has loaded already (no pathlib, pkgutil or dataclasses: ~4 ms of a ~30 ms start).


@functools.cache  # `composer --help` asks once per command; the directory does not change meanwhile
def _found() -> tuple[str, ...]:
    found = set()
    for directory in __path__:
        try:
            entries = os.listdir(directory)
        except OSError:
            continue
        for entry in entries:
            stem = entry[:-3] if entry.endswith(".py") else entry
            if stem.startswith("_") or not stem.isidentifier():
                continue
            if entry.endswith(".py") or os.path.isfile(os.path.join(directory, entry, "__init__.py")):
                found.add(stem.replace("_", "-"))
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


class Listing:
    """What `composer --help` shows of a command (a plain class, not a dataclass: see the imports)."""

    __slots__ = ("name", "summary", "supports_dry_run")

    def __init__(self, name: str, summary: str, supports_dry_run: bool) -> None:
        self.name = name
        self.summary = summary
        self.supports_dry_run = supports_dry_run


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
            with open(os.path.join(directory, f"{name.replace('-', '_')}.py"), encoding="utf-8") as f:
                return f.read()
        except OSError:
            continue
    return None
