"""The container runtime: OCI bundles from Docker configs, and the processes that run them.

The only package in the engine with ctypes and root-only code (see docs/engine-contracts.md).
The public names load on first use (PEP 562), so the zygote, which imports only the monitor's
modules, stays small: every monitor it forks starts with the zygote's pages.
"""

from __future__ import annotations

import importlib

from engine._typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    from engine.runtime.oci import build_spec
    from engine.runtime.runtime import Runtime
    from engine.runtime.state import ProcessState
    from engine.runtime.users import ResolvedUser, resolve_user

_WHERE = {
    "Runtime": "engine.runtime.runtime",
    "ProcessState": "engine.runtime.state",
    "build_spec": "engine.runtime.oci",
    "resolve_user": "engine.runtime.users",
    "ResolvedUser": "engine.runtime.users",
}

__all__ = ["Runtime", "ProcessState", "build_spec", "resolve_user", "ResolvedUser"]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value
