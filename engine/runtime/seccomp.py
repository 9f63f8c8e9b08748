"""Seccomp for containers, as Docker chooses it from HostConfig.SecurityOpt and Privileged.

- `default_profile(caps)`: a filter in the spirit of Docker's default profile. The system calls Docker keeps
  from unprivileged containers (the kernel keyring, module loading, clocks, namespace creation, the new
  mount API...) fail with EPERM unless the container holds the capability Docker's profile ties them to.
  Docker's own profile is an allowlist; this is its denylist counterpart, written for this engine.
- `docker_profile(text, caps)`: a profile in Docker's JSON format (what `--security-opt seccomp=file.json`
  sends) -> OCI `linux.seccomp`, with Docker's includes/excludes resolved for this container.
- `linux_seccomp(...)`: which of the two, or none (privileged, seccomp=unconfined).

The OCI form goes to runc as is; `compile_filter` (engine.runtime.bpf_seccomp) turns it into classic
BPF for the built-in runtime.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from engine._typecheck import TYPE_CHECKING
from engine.errors import InvalidParameter
from engine.runtime.bpf_seccomp import FILTER_FLAGS, NATIVE, OPS, RET, SeccompError, compile_filter, install

if TYPE_CHECKING:
    from typing import Any

__all__ = ["compile_filter", "install", "default_profile", "docker_profile", "linux_seccomp",
           "SecurityOptions", "parse_security_opts", "SeccompError"]

EPERM = errno.EPERM
ENOSYS = errno.ENOSYS

# The ABIs a native one runs beside (Docker's archMap for its default profile): named in the profile so the
# filter refuses their calls rather than killing the caller.
SUB_ARCHES = {"x86_64": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"], "aarch64": ["SCMP_ARCH_ARM"]}
KNOWN_ARCHES = {
    f"SCMP_ARCH_{a}"
    for a in ("X86", "X86_64", "X32", "ARM", "AARCH64", "MIPS", "MIPS64", "MIPS64N32", "MIPSEL", "MIPSEL64",
              "MIPSEL64N32", "PPC", "PPC64", "PPC64LE", "S390", "S390X", "PARISC", "PARISC64", "RISCV64",
              "LOONGARCH64", "M68K", "SH", "SHEB")
}
FLAGS = tuple(FILTER_FLAGS)
# Docker names architectures in includes/excludes as Go does.
GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}

ALWAYS_DENIED = [
    "add_key",
    "keyctl",
    "request_key",
    "create_module",
    "get_kernel_syms",
    "nfsservctl",
    "uselib",
    "ustat",
    "sysfs",
    "_sysctl",
]
# Docker's profile allows these only to a container holding the capability.
BY_CAPABILITY: dict[str, list[str]] = {
    "CAP_SYS_ADMIN": [
        "mount",
        "umount2",
        "pivot_root",
        "setns",
        "quotactl",
        "quotactl_fd",
        "lookup_dcookie",
        "fsopen",
        "fsconfig",
        "fsmount",
        "fspick",
        "move_mount",
        "open_tree",
        "mount_setattr",
        "name_to_handle_at",
        "swapon",
        "swapoff",
        "fanotify_init",
    ],
    "CAP_SYS_BOOT": ["reboot", "kexec_load", "kexec_file_load"],
    "CAP_SYS_MODULE": ["init_module", "finit_module", "delete_module"],
    "CAP_SYS_PACCT": ["acct"],
    "CAP_SYS_PTRACE": ["userfaultfd"],
    "CAP_SYS_RAWIO": ["iopl", "ioperm"],
    "CAP_SYS_TIME": ["settimeofday", "clock_settime", "clock_adjtime"],
    "CAP_SYS_TTY_CONFIG": ["vhangup"],
    "CAP_SYS_NICE": ["get_mempolicy", "set_mempolicy", "mbind", "move_pages"],
    "CAP_SYSLOG": ["syslog"],
    "CAP_DAC_READ_SEARCH": ["open_by_handle_at"],
    "CAP_BPF": ["bpf"],
    "CAP_PERFMON": ["perf_event_open"],
}
# New namespaces from clone/unshare need CAP_SYS_ADMIN in Docker's profile (user namespaces included,
# which the kernel would otherwise hand to anyone).
NAMESPACE_BITS = [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000]


def default_profile(capabilities: Iterable[str]) -> dict[str, Any] | None:
    """The OCI linux.seccomp for a container with these (effective) capabilities; None on an architecture
    we have no table for."""
    machine = os.uname().machine
    if machine not in NATIVE:
        return None
    _audit, native_name, table = NATIVE[machine]
    held = set(capabilities)
    denied = [n for n in ALWAYS_DENIED if n in table]
    for cap, names in BY_CAPABILITY.items():
        if cap not in held and not (cap in ("CAP_BPF", "CAP_PERFMON") and "CAP_SYS_ADMIN" in held):
            denied += [n for n in names if n in table]
    rules: list[dict[str, Any]] = [
        {"names": sorted(set(denied)), "action": "SCMP_ACT_ERRNO", "errnoRet": EPERM}
    ]
    if "CAP_SYS_ADMIN" not in held:
        # clone3 hides its flags in memory a filter cannot read: ENOSYS makes libc fall back to clone.
        rules.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS})
        for bit in NAMESPACE_BITS:
            rules.append(
                {
                    "names": ["clone", "unshare"],
                    "action": "SCMP_ACT_ERRNO",
                    "errnoRet": EPERM,
                    "args": [{"index": 0, "value": bit, "valueTwo": bit, "op": "SCMP_CMP_MASKED_EQ"}],
                }
            )
    return {"defaultAction": "SCMP_ACT_ALLOW", "architectures": [native_name, *SUB_ARCHES[machine]],
            "syscalls": rules}


# --- Docker's profile format -> OCI ---


def _kernel_at_least(wanted: str) -> bool:
    def parts(text: str) -> tuple[int, ...]:
        nums = []
        for piece in text.split("-")[0].split(".")[:2]:
            digits = "".join(ch for ch in piece if ch.isdigit())
            nums.append(int(digits or 0))
        return tuple(nums)

    return parts(os.uname().release) >= parts(wanted)


def _applies(call: Mapping[str, Any], go_arch: str, caps: set[str]) -> bool:
    """Docker's includes/excludes: arches (as Go names them), caps (all of them), minKernel."""
    excludes = call.get("excludes") or {}
    if go_arch in (excludes.get("arches") or []):
        return False
    if any(c in caps for c in excludes.get("caps") or []):
        return False
    if excludes.get("minKernel") and _kernel_at_least(str(excludes["minKernel"])):
        return False
    includes = call.get("includes") or {}
    if includes.get("arches") and go_arch not in includes["arches"]:
        return False
    if any(c not in caps for c in includes.get("caps") or []):
        return False
    return not (includes.get("minKernel") and not _kernel_at_least(str(includes["minKernel"])))


def _errno(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFF:
        raise SeccompError(f"{where}: errno {value!r} is not a number from 0 to 65535")
    return value


def _action(value: Any, where: str) -> str:
    if value == "SCMP_ACT_NOTIFY":
        raise SeccompError(f"{where}: SCMP_ACT_NOTIFY needs a seccomp listener, which this engine does "
                           "not support")
    if value not in RET:
        raise SeccompError(f'{where}: unknown action "{value}"')
    return str(value)


def _args(value: Any, where: str) -> list[dict[str, Any]]:
    out = []
    for arg in value or []:
        if not isinstance(arg, dict):
            raise SeccompError(f"{where}: each of args must be an object")
        index, op = arg.get("index"), arg.get("op")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= 5:
            raise SeccompError(f"{where}: argument index {index!r} out of range 0-5")
        if op not in OPS:
            raise SeccompError(f'{where}: unknown comparison operator "{op}"')
        for key in ("value", "valueTwo"):
            v = arg.get(key, 0)
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < 1 << 64:
                raise SeccompError(f"{where}: args {key} {v!r} is not an unsigned 64-bit number")
        out.append({"index": index, "value": arg.get("value", 0), "valueTwo": arg.get("valueTwo", 0),
                    "op": op})
    return out


def docker_profile(text: str, capabilities: Iterable[str], machine: str | None = None) -> dict[str, Any]:
    """A Docker seccomp profile (JSON text) -> OCI linux.seccomp for a container holding `capabilities`.
    Raises SeccompError naming what is wrong."""
    machine = machine or os.uname().machine
    if not text.lstrip().startswith("{"):
        raise SeccompError(f"Decoding seccomp profile failed: expected the profile's JSON text, got "
                           f"{text[:60]!r} (a client reads the profile file and sends its content)")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise SeccompError(f"Decoding seccomp profile failed: {e}") from None
    if not isinstance(data, dict):
        raise SeccompError("Decoding seccomp profile failed: the profile must be a JSON object")
    if data.get("architectures") and data.get("archMap"):
        raise SeccompError('both "architectures" and "archMap" are specified in the seccomp profile, use '
                           'either "architectures" or "archMap"')
    native_name = NATIVE[machine][1] if machine in NATIVE else ""
    arches = list(data.get("architectures") or [])
    for entry in data.get("archMap") or []:
        if isinstance(entry, dict) and entry.get("architecture") == native_name:
            arches += [entry["architecture"], *(entry.get("subArchitectures") or [])]
    for arch in arches:
        if arch not in KNOWN_ARCHES:
            raise SeccompError(f'unknown architecture "{arch}" in the seccomp profile')
    out: dict[str, Any] = {"defaultAction": _action(data.get("defaultAction"), "defaultAction")}
    default_errno = _errno(data.get("defaultErrnoRet"), "defaultErrnoRet")
    if default_errno is not None:
        out["defaultErrnoRet"] = default_errno
    if arches:
        out["architectures"] = list(dict.fromkeys(arches))
    flags = data.get("flags") or []
    for flag in flags:
        if flag not in FLAGS:
            raise SeccompError(f'unknown seccomp flag "{flag}"')
    if flags:
        out["flags"] = list(flags)
    calls = data.get("syscalls") or []
    if not isinstance(calls, list):
        raise SeccompError("syscalls must be a list")
    caps, go_arch = set(capabilities), GO_ARCH.get(machine, machine)
    out["syscalls"] = []
    for i, call in enumerate(calls):
        where = f"syscalls[{i}]"
        if not isinstance(call, dict):
            raise SeccompError(f"{where} must be an object")
        names = call.get("names") or []
        if call.get("name"):
            if names:
                raise SeccompError('both "name" and "names" are specified in the seccomp profile, use '
                                   'either "name" or "names"')
            names = [call["name"]]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise SeccompError(f"{where}: names must be a list of strings")
        rule: dict[str, Any] = {"names": names, "action": _action(call.get("action"), where)}
        errno_ret = _errno(call.get("errnoRet"), where)
        if errno_ret is not None:
            rule["errnoRet"] = errno_ret
        args = _args(call.get("args"), where)
        if args:
            rule["args"] = args
        if _applies(call, go_arch, caps):
            out["syscalls"].append(rule)
    if machine in NATIVE:
        compile_filter(out, machine)  # anything it cannot compile is a bad profile, said now
    return out


# --- HostConfig.SecurityOpt ---


@dataclass(frozen=True)
class SecurityOptions:
    """HostConfig.SecurityOpt, parsed: the seccomp profile and no-new-privileges."""

    seccomp: str = ""  # "" or "builtin": the default profile; "unconfined"; else a profile's JSON text
    no_new_privileges: bool = False


_TRUE = ("1", "t", "T", "true", "TRUE", "True")
_FALSE = ("0", "f", "F", "false", "FALSE", "False")


def parse_security_opts(opts: Iterable[str]) -> SecurityOptions:
    """Docker's parsing and wording; label/apparmor options are accepted (no LSM here) and ignored."""
    seccomp, nnp = "", False
    for opt in opts:
        if opt == "no-new-privileges":
            nnp = True
            continue
        if opt == "disable":
            continue
        sep = "=" if "=" in opt else ":"
        key, found, value = opt.partition(sep)
        if not found:
            raise InvalidParameter(f'invalid --security-opt 1: "{opt}"')
        if key == "seccomp":
            seccomp = value
        elif key == "no-new-privileges" and value in _TRUE + _FALSE:
            nnp = value in _TRUE
        elif key not in ("label", "apparmor", "writable-cgroups"):
            raise InvalidParameter(f'invalid --security-opt 2: "{opt}"')
    return SecurityOptions(seccomp=seccomp, no_new_privileges=nnp)


def linux_seccomp(opts: SecurityOptions, privileged: bool, capabilities: list[str]) -> dict[str, Any] | None:
    """Docker's choice: privileged or seccomp=unconfined -> none; a profile given -> it; else the default."""
    if privileged or opts.seccomp == "unconfined":
        return None
    if opts.seccomp in ("", "builtin"):
        return default_profile(capabilities)
    try:
        return docker_profile(opts.seccomp, capabilities)
    except SeccompError as e:
        raise InvalidParameter(f"invalid seccomp profile: {e}") from None
