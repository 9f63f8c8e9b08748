"""Which kernel parameters a container may set: only those its own namespaces isolate (runc's rules).

Anything else written under the container's /proc/sys would change the host for everyone, so it is refused:
at create (a 400, engine.containers.validate) and again when the bundle is built (a record stored by an
older engine). The messages are runc's, which is what dockerd reports for them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from engine._typecheck import TYPE_CHECKING
from engine.errors import InvalidParameter

if TYPE_CHECKING:
    from typing import Any

# System V IPC and POSIX message queues: isolated by the IPC namespace
IPC_SYSCTLS = frozenset(
    {
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    }
)
IPC_PREFIX = "fs.mqueue."
NET_PREFIX = "net."

# dotted names only: a "/" or ".." would let a key climb out of the subtree it claims (net/../vm/...)
_KEY_RE = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_:@+-]+)+$")


def refusal(key: str, *, own_ipc: bool, own_net: bool, own_uts: bool) -> str | None:
    """Why `key` may not be set in a container with these namespaces of its own; None when it may."""
    if not _KEY_RE.match(key):
        return f"invalid sysctl key {key!r}"
    if key in IPC_SYSCTLS or key.startswith(IPC_PREFIX):
        return None if own_ipc else f'sysctl "{key}" is not allowed in the hosts ipc namespace'
    if key.startswith(NET_PREFIX):
        return None if own_net else f'sysctl "{key}" not allowed in host network namespace'
    if own_uts and key == "kernel.domainname":
        return None  # namespaced, and the OCI spec has no field of its own for it
    if own_uts and key == "kernel.hostname":
        return f'sysctl "{key}" is not allowed as it conflicts with the OCI "hostname" field'
    return f'sysctl "{key}" is not in a separate kernel namespace'


def check(sysctls: Mapping[str, str], *, own_ipc: bool, own_net: bool, own_uts: bool) -> None:
    for key in sysctls:
        reason = refusal(key, own_ipc=own_ipc, own_net=own_net, own_uts=own_uts)
        if reason:
            raise InvalidParameter(reason)


def check_spec(linux: Mapping[str, Any]) -> None:
    """The same rules over an OCI bundle's linux section: a namespace listed is the container's own, new or
    joined (container:<id>), unless the joined one is the engine's own (that container runs in the host's)."""
    sysctls = linux.get("sysctl") or {}
    if not sysctls:
        return
    own = {
        str(ns["type"])
        for ns in linux.get("namespaces") or []
        if not _is_hosts(_PROC_NS.get(str(ns["type"]), ""), ns.get("path"))
    }
    check(sysctls, own_ipc="ipc" in own, own_net="network" in own, own_uts="uts" in own)


_PROC_NS = {"network": "net", "ipc": "ipc", "uts": "uts"}


def _is_hosts(kind: str, path: str | None) -> bool:
    """A joined namespace that is the engine's own (a container:<id> whose target runs in the host's)."""
    if not path or not kind:
        return False
    try:
        mine = os.stat(f"/proc/self/ns/{kind}")
        theirs = os.stat(path)
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)
