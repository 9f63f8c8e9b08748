"""Linux capabilities by name, Docker's default set, and Docker's CapAdd/CapDrop arithmetic."""

from __future__ import annotations

from collections.abc import Iterable

from engine.errors import InvalidParameter

CAPABILITIES = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
]
CAP_NUMBERS = {name: i for i, name in enumerate(CAPABILITIES)}

# Docker's default capability set (bits 0xa80425fb).
DEFAULT_CAPABILITIES = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
]


def last_cap() -> int:
    """The highest capability number this kernel knows."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return min(int(f.read().strip()), len(CAPABILITIES) - 1)
    except (OSError, ValueError):
        return len(CAPABILITIES) - 1


def held_mask() -> int:
    """This process's bounding set: no container can be given a capability outside it."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapBnd:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return (1 << (last_cap() + 1)) - 1


def all_capabilities() -> list[str]:
    """Docker's "ALL": every capability the kernel knows that the engine itself holds (a sandboxed engine
    may lack some, e.g. CAP_SYS_RESOURCE; asking runc for those would fail the start)."""
    held = held_mask()
    return [name for i, name in enumerate(CAPABILITIES[: last_cap() + 1]) if held & (1 << i)]


def normalize(names: Iterable[str] | None) -> list[str]:
    out = []
    for raw in names or ():
        name = raw.strip().upper()
        if name == "ALL":
            out.append("ALL")
            continue
        if not name.startswith("CAP_"):
            name = "CAP_" + name
        if name not in CAP_NUMBERS:
            raise InvalidParameter(f'unknown capability: "{name}"')
        out.append(name)
    return out


def tweak(cap_add: Iterable[str] | None, cap_drop: Iterable[str] | None, privileged: bool) -> list[str]:
    """The effective list after CapAdd/CapDrop, as Docker computes it (add ALL wins over drop ALL)."""
    if privileged:
        return all_capabilities()
    add, drop = normalize(cap_add), normalize(cap_drop)
    if "ALL" in add:
        caps = [c for c in all_capabilities() if c not in drop]
    elif "ALL" in drop:
        caps = [c for c in add if c != "ALL"]
    else:
        caps = [c for c in DEFAULT_CAPABILITIES if c not in drop] + add
    seen: list[str] = []
    for c in caps:
        if c not in seen:
            seen.append(c)
    return seen


def to_mask(names: Iterable[str]) -> int:
    mask = 0
    for name in names:
        if name in CAP_NUMBERS:
            mask |= 1 << CAP_NUMBERS[name]
    return mask
