"""The container runtime: OCI bundles from Docker configs, and the processes that run them.

The only package in the engine with ctypes and root-only code (see docs/engine-contracts.md).
"""

from __future__ import annotations

from engine.runtime.oci import build_spec
from engine.runtime.runtime import Runtime
from engine.runtime.state import ProcessState
from engine.runtime.users import ResolvedUser, resolve_user

__all__ = ["Runtime", "ProcessState", "build_spec", "resolve_user", "ResolvedUser"]
