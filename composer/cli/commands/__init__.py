"""Commands of the `composer` CLI, one module each.

A command module has a docopt usage as its docstring (first line: the one-line summary shown by
`composer --help`), `run(argv, options) -> int`, and optionally `SUPPORTS_DRY_RUN = True`. Adding a command
means adding a module here; nothing else needs editing. Modules must keep heavy imports (yaml, jsonschema,
docker) inside functions so `composer --help` stays fast.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
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
