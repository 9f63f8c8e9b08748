"""OCI `linux.seccomp` -> a classic BPF program for seccomp(2), and installing it.

Layout of the program:

    load arch; not the native ABI -> the foreign action      (we hold syscall tables for one ABI only)
    load nr;   x32 bit set       -> the foreign action
    binary search on nr over the syscalls the profile names; at a leaf, per system call:
                     nr matches -> its entries, in profile order; the first whose argument conditions
                     all hold decides; none holds -> the default action
    not named -> the default action

Argument conditions compare the full 64-bit value as two 32-bit words (classic BPF is 32-bit),
high word first. When one rule tests the same argument more than once its conditions are
alternatives (OR), each a rule of its own, as runc does; otherwise all must hold (AND).
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from collections.abc import Mapping

from engine._typecheck import TYPE_CHECKING
from engine.runtime.bpf_syscall_table import AARCH64, X86_64

if TYPE_CHECKING:
    from typing import Any

# machine -> (AUDIT_ARCH_*, SCMP_ARCH_* of the native ABI, its syscall table)
NATIVE: dict[str, tuple[int, str, dict[str, int]]] = {
    "x86_64": (0xC000003E, "SCMP_ARCH_X86_64", X86_64),
    "aarch64": (0xC00000B7, "SCMP_ARCH_AARCH64", AARCH64),
}

RET = {
    "SCMP_ACT_KILL": 0x00000000,  # = KILL_THREAD
    "SCMP_ACT_KILL_THREAD": 0x00000000,
    "SCMP_ACT_KILL_PROCESS": 0x80000000,
    "SCMP_ACT_TRAP": 0x00030000,
    "SCMP_ACT_ERRNO": 0x00050000,
    "SCMP_ACT_TRACE": 0x7FF00000,
    "SCMP_ACT_LOG": 0x7FFC0000,
    "SCMP_ACT_ALLOW": 0x7FFF0000,
}
OPS = ("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
       "SCMP_CMP_MASKED_EQ")
MAX_INSNS = 4096  # BPF_MAXINSNS
_LEAF = 4  # syscalls tested one by one at the bottom of the search

_LD_W_ABS, _AND_K, _JA, _JEQ, _JGT, _JGE, _RET_K = 0x20, 0x54, 0x05, 0x15, 0x25, 0x35, 0x06
_NR, _ARCH = 0, 4
_X32_BIT = 0x40000000
# jump targets resolved late: to the end of this condition (true), or past this entry (false)
_NEXT, _FAIL = -1, -2


class SeccompError(ValueError):
    """A profile this compiler cannot turn into a filter; the message says what and where."""


def action_value(action: str, errno_ret: int | None) -> int:
    if action not in RET:
        raise SeccompError(f'unknown seccomp action "{action}"')
    value = RET[action]
    if action in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
        value |= (errno.EPERM if errno_ret is None else int(errno_ret)) & 0xFFFF
    return value


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k & 0xFFFFFFFF)


def _condition(arg: Mapping[str, Any]) -> list[tuple[int, int, int, int]]:
    """One argument test; falls through when it holds, jumps to _FAIL when not."""
    index, op = int(arg.get("index", -1)), str(arg.get("op", ""))
    if not 0 <= index <= 5:
        raise SeccompError(f"seccomp argument index {arg.get('index')} out of range 0-5")
    if op not in OPS:
        raise SeccompError(f'unknown seccomp comparison "{op}"')
    value, two = int(arg.get("value", 0)), int(arg.get("valueTwo", 0))
    if not (0 <= value < 1 << 64 and 0 <= two < 1 << 64):
        raise SeccompError(f"seccomp argument value out of the 64-bit range: {value}")
    lo, hi = 16 + 8 * index, 20 + 8 * index  # struct seccomp_data.args[index], little-endian words
    vhi, vlo = value >> 32, value & 0xFFFFFFFF
    if op == "SCMP_CMP_MASKED_EQ":
        return [(_LD_W_ABS, hi, 0, 0), (_AND_K, vhi, 0, 0), (_JEQ, two >> 32, 0, _FAIL),
                (_LD_W_ABS, lo, 0, 0), (_AND_K, vlo, 0, 0), (_JEQ, two & 0xFFFFFFFF, 0, _FAIL)]
    if op == "SCMP_CMP_EQ":
        return [(_LD_W_ABS, hi, 0, 0), (_JEQ, vhi, 0, _FAIL), (_LD_W_ABS, lo, 0, 0), (_JEQ, vlo, 0, _FAIL)]
    if op == "SCMP_CMP_NE":
        return [(_LD_W_ABS, hi, 0, 0), (_JEQ, vhi, 0, _NEXT), (_LD_W_ABS, lo, 0, 0), (_JEQ, vlo, _FAIL, 0)]
    if op in ("SCMP_CMP_GT", "SCMP_CMP_GE"):
        last = _JGT if op == "SCMP_CMP_GT" else _JGE
        return [(_LD_W_ABS, hi, 0, 0), (_JGT, vhi, _NEXT, 0), (_JEQ, vhi, 0, _FAIL),
                (_LD_W_ABS, lo, 0, 0), (last, vlo, 0, _FAIL)]
    # LT is "not GE", LE is "not GT"
    last = _JGE if op == "SCMP_CMP_LT" else _JGT
    return [(_LD_W_ABS, hi, 0, 0), (_JGT, vhi, _FAIL, 0), (_JEQ, vhi, 0, _NEXT),
            (_LD_W_ABS, lo, 0, 0), (last, vlo, _FAIL, 0)]


def _target(jump: int, i: int, end: int, total: int) -> int:
    if jump == _NEXT:
        return end - i - 1
    if jump == _FAIL:
        return total - i - 1
    return jump


def _entry(conditions: list[list[tuple[int, int, int, int]]], ret: int) -> list[bytes]:
    """Conditions then `ret`; a failed condition jumps past the entry (to the next one)."""
    placed: list[tuple[int, int, int, int, int]] = []  # (code, k, jt, jf, end of its condition)
    for cond in conditions:
        end = len(placed) + len(cond)
        placed += [(code, k, jt, jf, end) for code, k, jt, jf in cond]
    total = len(placed) + 1
    out = []
    for i, (code, k, jt, jf, end) in enumerate(placed):
        t, f = _target(jt, i, end, total), _target(jf, i, end, total)
        if t > 255 or f > 255:
            raise SeccompError("too many argument conditions in one seccomp rule")
        out.append(_insn(code, k, t, f))
    out.append(_insn(_RET_K, ret))
    return out


def _rule_entries(rule: Mapping[str, Any]) -> list[list[list[tuple[int, int, int, int]]]]:
    """A rule's alternatives, each a list of conditions that must all hold."""
    args = list(rule.get("args") or [])
    indexes = [int(a.get("index", -1)) for a in args]
    conds = [_condition(a) for a in args]
    if len(set(indexes)) < len(indexes):
        return [[c] for c in conds]
    return [conds]


def _search(bodies: list[tuple[int, list[bytes]]], ret_default: bytes) -> list[bytes]:
    """Find the syscall's block by binary search on nr (A holds nr; every path ends in a ret), so a large
    allowlist costs a few comparisons per call rather than one per listed syscall. Few left: test each."""
    if len(bodies) <= _LEAF:
        out: list[bytes] = []
        for nr, body in bodies:
            if len(body) <= 255:
                out.append(_insn(_JEQ, nr, 0, len(body)))
            else:
                out += [_insn(_JEQ, nr, 1, 0), _insn(_JA, len(body))]
            out += body
        return [*out, ret_default]
    mid = len(bodies) // 2
    low, high = _search(bodies[:mid], ret_default), _search(bodies[mid:], ret_default)
    # nr >= the middle one: over the jump into the low half, to the high half
    return [_insn(_JGE, bodies[mid][0], 0, 1), _insn(_JA, len(low)), *low, *high]


def compile_filter(profile: Mapping[str, Any], machine: str | None = None) -> bytes:
    """An OCI linux.seccomp -> the bytes of a `struct sock_filter` array."""
    machine = machine or os.uname().machine
    if machine not in NATIVE:
        raise SeccompError(f"no seccomp syscall table for {machine}")
    audit_arch, native_name, table = NATIVE[machine]
    default = action_value(str(profile.get("defaultAction", "")), profile.get("defaultErrnoRet"))
    arches = list(profile.get("architectures") or [])
    # Another ABI (i386 via int 0x80, x32, arm32) numbers its calls differently: we cannot apply the rules
    # to it, so refuse its calls when the profile admits that ABI, and kill the process (libseccomp's
    # bad-arch action is a kill) when the profile does not list it.
    foreign = action_value("SCMP_ACT_ERRNO" if [a for a in arches if a != native_name] else
                           "SCMP_ACT_KILL_PROCESS", None)
    if arches and native_name not in arches:  # nothing may run under the native ABI
        return _insn(_RET_K, action_value("SCMP_ACT_KILL_PROCESS", None))
    prog = [_insn(_LD_W_ABS, _ARCH), _insn(_JEQ, audit_arch, 1, 0), _insn(_RET_K, foreign),
            _insn(_LD_W_ABS, _NR)]
    if machine == "x86_64":
        prog += [_insn(_JGE, _X32_BIT, 0, 1), _insn(_RET_K, foreign)]
    by_nr: dict[int, list[list[bytes]]] = {}
    closed: set[int] = set()  # a rule without conditions ends its syscall's chain
    for rule in profile.get("syscalls") or []:
        ret = action_value(str(rule.get("action", "")), rule.get("errnoRet"))
        alternatives = _rule_entries(rule)
        if ret == default:
            continue  # the default anyway; runc (libseccomp) drops such rules, so they shadow nothing
        for name in rule.get("names") or []:
            nr = table.get(name)
            if nr is None or nr in closed:
                continue  # unknown to this kernel's ABI: skipped, as libseccomp and Docker do
            for conds in alternatives:
                by_nr.setdefault(nr, []).append(_entry(conds, ret))
                if not conds:
                    closed.add(nr)
                    break
    bodies = []
    for nr in sorted(by_nr):
        body = [insn for entry in by_nr[nr] for insn in entry]
        if nr not in closed:
            body.append(_insn(_RET_K, default))
        bodies.append((nr, body))
    prog += _search(bodies, _insn(_RET_K, default))
    if len(prog) > MAX_INSNS:
        raise SeccompError(f"seccomp profile too large: {len(prog)} BPF instructions (the kernel takes "
                           f"{MAX_INSNS})")
    return b"".join(prog)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


FILTER_FLAGS = {  # the OCI names of seccomp(2)'s SECCOMP_FILTER_FLAG_* bits
    "SECCOMP_FILTER_FLAG_TSYNC": 1,
    "SECCOMP_FILTER_FLAG_LOG": 2,
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 4,
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": 32,
}


def install(program: bytes, flags: tuple[str, ...] | list[str] = ()) -> None:
    """Install the filter on this process and whatever it execs: needs CAP_SYS_ADMIN or no_new_privs, so
    the init calls it before dropping capabilities. prctl(PR_SET_SECCOMP) takes no flags; a profile's
    `flags` need the seccomp(2) system call (SECCOMP_SET_MODE_FILTER)."""
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    bits = 0
    for flag in flags:
        bits |= FILTER_FLAGS[flag]
    if bits:
        nr = NATIVE[os.uname().machine][2]["seccomp"]
        call = f"seccomp(SECCOMP_SET_MODE_FILTER, {'|'.join(flags)}, <{len(program) // 8} insns>)"
        result = libc.syscall(ctypes.c_long(nr), ctypes.c_ulong(1), ctypes.c_ulong(bits), ctypes.byref(fprog))
    else:
        call = f"prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, <{len(program) // 8} insns>)"
        result = libc.prctl(22, 2, ctypes.byref(fprog), 0, 0)  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{call}: {os.strerror(err)}")
