"""OCI device cgroup rules -> an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE (the cgroup v2 way to
control device access: v2 has no devices controller).

The kernel runs the program on every open/mknod of a device node by a task in the cgroup, with a
`struct bpf_cgroup_dev_ctx {u32 access_type; u32 major; u32 minor;}` in r1, where access_type is
(access << 16) | type. Returning 1 allows, 0 denies (EPERM).

Rules are OCI `linux.resources.devices` entries ({"allow", "type", "major", "minor", "access"}, absent
type/major/minor = any). As with the v1 devices.allow/deny files they model, a later rule overrides an
earlier one: the program tests them from the last to the first and the first that matches decides;
none matches -> deny. An allow rule matches when it grants every access asked for; a deny rule when it
refuses any of them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from typing import Any

DEV_BLOCK, DEV_CHAR = 1, 2  # BPF_DEVCG_DEV_*
ACC_MKNOD, ACC_READ, ACC_WRITE = 1, 2, 4  # BPF_DEVCG_ACC_*
_ACCESS = {"m": ACC_MKNOD, "r": ACC_READ, "w": ACC_WRITE}
_ALL = ACC_MKNOD | ACC_READ | ACC_WRITE

# eBPF opcodes used
_LDX_W = 0x61  # BPF_LDX | BPF_MEM | BPF_W
_MOV64_X, _MOV64_K = 0xBF, 0xB7
_AND32_K, _RSH32_K = 0x54, 0x74
_JEQ_K, _JNE_K = 0x16, 0x56  # BPF_JMP32: compare the low 32 bits (majors/minors are u32)
_EXIT = 0x95
# registers: r1 ctx, r2 type, r3 access, r4 major, r5 minor, r6 scratch, r0 verdict
_CTX, _TYPE, _ACC, _MAJ, _MIN, _TMP, _RET = 1, 2, 3, 4, 5, 6, 0


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    if not -(1 << 31) <= imm < 1 << 32:
        raise ValueError(f"device number {imm} out of the 32-bit range")
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm - (1 << 32) if imm >= 1 << 31 else imm)


def access_mask(access: str) -> int:
    mask = 0
    for ch in access or "rwm":
        if ch not in _ACCESS:
            raise ValueError(f"invalid device access {access!r}")
        mask |= _ACCESS[ch]
    return mask


def _rule_block(rule: Mapping[str, Any]) -> list[bytes]:
    """Tests that skip to the next block on a mismatch, then `return allow`."""
    allow = bool(rule.get("allow"))
    kind = rule.get("type") or "a"
    mask = access_mask(str(rule.get("access") or "rwm"))
    tests: list[tuple[bytes, ...]] = []
    if kind != "a":
        if kind not in ("b", "c"):
            raise ValueError(f"invalid device type {kind!r}")
        tests.append((_insn(_JNE_K, _TYPE, imm=DEV_BLOCK if kind == "b" else DEV_CHAR),))
    if mask != _ALL:
        if allow:  # every access asked for must be granted: (acc & ~mask) == 0
            check = (_insn(_MOV64_X, _TMP, _ACC), _insn(_AND32_K, _TMP, imm=_ALL & ~mask),
                     _insn(_JNE_K, _TMP, imm=0))
        else:  # any access asked for is refused: (acc & mask) != 0
            check = (_insn(_MOV64_X, _TMP, _ACC), _insn(_AND32_K, _TMP, imm=mask), _insn(_JEQ_K, _TMP, imm=0))
        tests.append(check)
    for key, reg in (("major", _MAJ), ("minor", _MIN)):
        value = rule.get(key)
        if value is not None and int(value) >= 0:
            tests.append((_insn(_JNE_K, reg, imm=int(value)),))
    verdict = [_insn(_MOV64_K, _RET, imm=1 if allow else 0), _insn(_EXIT)]
    out: list[bytes] = []
    remaining = sum(len(t) for t in tests) + len(verdict)
    for test in tests:
        # the jump is each test's last instruction; its offset counts the instructions after it
        out += test[:-1]
        remaining -= len(test)
        code, regs, _off, imm = struct.unpack("<BBhi", test[-1])
        out.append(struct.pack("<BBhi", code, regs, remaining, imm))
    return out + verdict


def device_program(rules: Iterable[Mapping[str, Any]]) -> bytes:
    """The program's instructions (struct bpf_insn array) for these OCI rules."""
    prog = [
        _insn(_LDX_W, _TYPE, _CTX, 0),  # access_type
        _insn(_MOV64_X, _ACC, _TYPE),
        _insn(_AND32_K, _TYPE, imm=0xFFFF),
        _insn(_RSH32_K, _ACC, imm=16),
        _insn(_LDX_W, _MAJ, _CTX, 4),
        _insn(_LDX_W, _MIN, _CTX, 8),
    ]
    for rule in reversed(list(rules)):
        block = _rule_block(rule)
        prog += block
        if len(block) == 2:  # matches everything: what comes after is unreachable, which the verifier refuses
            return b"".join(prog)
    prog += [_insn(_MOV64_K, _RET, imm=0), _insn(_EXIT)]
    return b"".join(prog)
