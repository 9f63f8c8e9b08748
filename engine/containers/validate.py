"""Checks on a create request before anything is stored, with dockerd's statuses and wording.

A request that passes here can be normalized (engine.containers.create) and started without a type error;
one that does not is a 400 naming the field. Nothing here does I/O.
"""

from __future__ import annotations

from typing import Any

from engine.errors import InvalidParameter
from engine.runtime import sysctl


def check_create(body: dict[str, Any]) -> None:
    hc = body.get("HostConfig")
    if hc is None:
        hc = {}
    check_sysctls(hc)


def check_sysctls(hc: dict[str, Any]) -> None:
    """Only the kernel parameters the container's own namespaces isolate (runc's rules, refused at create)."""
    values = hc.get("Sysctls")
    if values is None:
        return
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        raise InvalidParameter("invalid HostConfig.Sysctls: expected an object of strings")
    sysctl.check(
        values,
        own_ipc=_own(hc.get("IpcMode")),
        own_net=_own(hc.get("NetworkMode")),
        own_uts=_own(hc.get("UTSMode")),
    )


def _own(mode: Any) -> bool:
    """A namespace of the container's own (private, shared with another container) or the host's."""
    return mode != "host"
