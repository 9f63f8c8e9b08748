"""Modules imported on their first use rather than at `import` (engine/__init__.py defers inspect).

`dataclasses` imports `inspect` at its top for one call (`inspect.signature`, to write a docstring for a
class that has none), and `inspect` with its own imports (ast, dis,
tokenize, linecache) is ~1 MiB each engine process would keep for as long as it runs. A stand-in put in
`sys.modules` answers `import inspect`; the first attribute read from it imports the real module, puts it
back in `sys.modules`, and from then on every read through the stand-in is forwarded to it.
(composer._deferred is the same for the CLI: the two packages share no code.)
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType


class _StandIn(ModuleType):
    def __getattr__(self, attr: str) -> object:  # called only for what the stand-in lacks: everything
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        return getattr(importlib.import_module(name), attr)


def defer(name: str) -> None:
    """Let `import name` succeed now and load the module when one of its attributes is first read."""
    if name not in sys.modules:
        sys.modules[name] = _StandIn(name)
