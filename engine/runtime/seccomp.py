"""A seccomp filter in the spirit of Docker's default profile: the system calls Docker keeps from
unprivileged containers (the kernel keyring, module loading, clocks, namespace creation, new mount API...)
fail with EPERM unless the container holds the capability that Docker's profile ties them to.

`default_profile(caps)` gives it as OCI `linux.seccomp` (so runc applies it through libseccomp);
`compile_filter` turns that OCI subset into a classic BPF program for the built-in runtime.
Docker's own profile is an allowlist; this is its denylist counterpart, written for this engine.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from collections.abc import Iterable, Mapping
from typing import Any

EPERM = errno.EPERM
ENOSYS = errno.ENOSYS

# Names -> numbers for the two architectures we build filters for (from the kernel's unistd headers).
_X86_64 = {
    "acct": 163,
    "add_key": 248,
    "bpf": 321,
    "clock_adjtime": 305,
    "clock_settime": 227,
    "create_module": 174,
    "delete_module": 176,
    "finit_module": 313,
    "get_kernel_syms": 177,
    "get_mempolicy": 239,
    "init_module": 175,
    "ioperm": 173,
    "iopl": 172,
    "kexec_file_load": 320,
    "kexec_load": 246,
    "keyctl": 250,
    "lookup_dcookie": 212,
    "mbind": 237,
    "mount": 165,
    "move_pages": 279,
    "name_to_handle_at": 303,
    "nfsservctl": 180,
    "open_by_handle_at": 304,
    "perf_event_open": 298,
    "pivot_root": 155,
    "quotactl": 179,
    "reboot": 169,
    "request_key": 249,
    "set_mempolicy": 238,
    "setns": 308,
    "settimeofday": 164,
    "swapon": 167,
    "swapoff": 168,
    "sysfs": 139,
    "_sysctl": 156,
    "umount2": 166,
    "unshare": 272,
    "uselib": 134,
    "userfaultfd": 323,
    "ustat": 136,
    "clone": 56,
    "clone3": 435,
    "syslog": 103,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "move_mount": 429,
    "open_tree": 428,
    "mount_setattr": 442,
    "quotactl_fd": 443,
    "vhangup": 153,
    "fanotify_init": 300,
}
_AARCH64 = {
    "acct": 89,
    "add_key": 217,
    "bpf": 280,
    "clock_adjtime": 266,
    "clock_settime": 112,
    "delete_module": 106,
    "finit_module": 273,
    "get_mempolicy": 236,
    "init_module": 105,
    "kexec_file_load": 294,
    "kexec_load": 104,
    "keyctl": 219,
    "lookup_dcookie": 18,
    "mbind": 235,
    "mount": 40,
    "move_pages": 239,
    "name_to_handle_at": 264,
    "nfsservctl": 42,
    "open_by_handle_at": 265,
    "perf_event_open": 241,
    "pivot_root": 41,
    "quotactl": 60,
    "reboot": 142,
    "request_key": 218,
    "set_mempolicy": 237,
    "setns": 268,
    "settimeofday": 170,
    "swapon": 224,
    "swapoff": 225,
    "umount2": 39,
    "unshare": 97,
    "userfaultfd": 282,
    "clone": 220,
    "clone3": 435,
    "syslog": 116,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "move_mount": 429,
    "open_tree": 428,
    "mount_setattr": 442,
    "quotactl_fd": 443,
    "vhangup": 58,
    "fanotify_init": 262,
}
# machine -> (AUDIT_ARCH_*, OCI names, table)
ARCHES = {
    "x86_64": (0xC000003E, ["SCMP_ARCH_X86_64"], _X86_64),
    "aarch64": (0xC00000B7, ["SCMP_ARCH_AARCH64"], _AARCH64),
}

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
    if machine not in ARCHES:
        return None
    table = ARCHES[machine][2]
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
    return {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ARCHES[machine][1], "syscalls": rules}


# classic BPF, as seccomp reads it
_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_RET_ALLOW, _RET_ERRNO = 0x7FFF0000, 0x00050000
_NR, _ARCH, _ARG0 = 0, 4, 16
_X32_BIT = 0x40000000


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def compile_filter(profile: Mapping[str, Any], machine: str | None = None) -> bytes:
    """The OCI subset default_profile() emits -> a BPF program (bytes of struct sock_filter)."""
    machine = machine or os.uname().machine
    if machine not in ARCHES:
        raise ValueError(f"no seccomp syscall table for {machine}")
    audit_arch, _names, table = ARCHES[machine]
    if profile.get("defaultAction") != "SCMP_ACT_ALLOW":
        raise ValueError("only defaultAction SCMP_ACT_ALLOW profiles are supported")
    prog = [
        _insn(_LD_W_ABS, _ARCH),
        _insn(_JEQ, audit_arch, 1, 0),
        _insn(_RET, _RET_ERRNO | EPERM),  # another ABI (i386 via int 0x80) could dodge the numbers below
        _insn(_LD_W_ABS, _NR),
        _insn(_JGE, _X32_BIT, 0, 1),
        _insn(_RET, _RET_ERRNO | EPERM),  # the x32 ABI, same reason
    ]
    for rule in profile.get("syscalls") or []:
        if rule.get("action") != "SCMP_ACT_ERRNO":
            raise ValueError(f"unsupported seccomp action {rule.get('action')}")
        ret = _RET_ERRNO | int(rule.get("errnoRet", EPERM))
        for name in rule["names"]:
            if name not in table:
                continue
            args = rule.get("args") or []
            if not args:
                prog += [_insn(_JEQ, table[name], 0, 1), _insn(_RET, ret)]
                continue
            (arg,) = args
            if arg.get("op") != "SCMP_CMP_MASKED_EQ" or arg["value"] != arg["valueTwo"] or arg["index"] != 0:
                raise ValueError("only single-bit SCMP_CMP_MASKED_EQ tests on argument 0 are supported")
            # nr matches and the flag bit is set -> errno; otherwise reload nr and go on
            prog += [
                _insn(_JEQ, table[name], 0, 4),
                _insn(_LD_W_ABS, _ARG0),
                _insn(_JSET, int(arg["value"]), 0, 1),
                _insn(_RET, ret),
                _insn(_LD_W_ABS, _NR),
            ]
    prog.append(_insn(_RET, _RET_ALLOW))
    return b"".join(prog)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install(program: bytes) -> None:
    """prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER): needs CAP_SYS_ADMIN or no_new_privs, so the init calls it
    before dropping capabilities. Applies to this process and whatever it execs."""
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    if libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        err = ctypes.get_errno()
        raise OSError(
            err,
            f"prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, <{len(program) // 8} insns>): {os.strerror(err)}",
        )
