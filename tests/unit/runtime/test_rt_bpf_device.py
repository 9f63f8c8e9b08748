"""The cgroup device program generator, without root: the generated eBPF is run by a small interpreter of
the instructions it uses and compared, device by device and access by access, with the rule semantics
written out plainly (last matching rule wins; allow needs every access, deny refuses any). The kernel
runs the same programs in tests/integration/runtime/test_rt_device_bpf.py."""

from __future__ import annotations

import itertools
import struct
from collections.abc import Mapping
from typing import Any

import pytest

from engine.runtime.bpf_device import ACC_MKNOD, ACC_READ, ACC_WRITE, DEV_BLOCK, DEV_CHAR, device_program
from engine.runtime.oci import DEFAULT_DEVICE_RULES

M32 = 0xFFFFFFFF


def run(prog: bytes, kind: int, access: int, major: int, minor: int) -> int:
    regs = [0] * 11
    ctx = struct.pack("<III", (access << 16) | kind, major, minor)
    pc, steps = 0, 0
    while True:
        steps += 1
        assert steps < 10000 and 0 <= pc < len(prog) // 8, "runs off the program"
        code, regs_byte, off, imm = struct.unpack_from("<BBhi", prog, pc * 8)
        dst, src = regs_byte & 0xF, regs_byte >> 4
        pc += 1
        if code == 0x61:  # ldxw dst, [src + off]
            assert src == 1 and off in (0, 4, 8)
            regs[dst] = struct.unpack_from("<I", ctx, off)[0]
        elif code == 0xBF:
            regs[dst] = regs[src]
        elif code == 0xB7:
            regs[dst] = imm & 0xFFFFFFFFFFFFFFFF
        elif code == 0x54:
            regs[dst] = (regs[dst] & imm) & M32
        elif code == 0x74:
            regs[dst] = (regs[dst] & M32) >> imm
        elif code == 0x16:  # jmp32: low words
            pc += off if regs[dst] & M32 == imm & M32 else 0
        elif code == 0x56:
            pc += off if regs[dst] & M32 != imm & M32 else 0
        elif code == 0x95:
            return regs[0]
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")


def reference(rules: list[Mapping[str, Any]], kind: str, access: int, major: int, minor: int) -> int:
    bits = {"r": ACC_READ, "w": ACC_WRITE, "m": ACC_MKNOD}
    for rule in reversed(rules):
        rtype = rule.get("type") or "a"
        mask = sum(bits[c] for c in rule.get("access") or "rwm")
        if rtype not in ("a", kind):
            continue
        if rule.get("major") is not None and rule["major"] != major:
            continue
        if rule.get("minor") is not None and rule["minor"] != minor:
            continue
        if rule.get("allow"):
            if access & ~mask == 0:
                return 1
        elif access & mask:
            return 0
    return 0


ACCESSES = [ACC_READ, ACC_WRITE, ACC_MKNOD, ACC_READ | ACC_WRITE, ACC_READ | ACC_WRITE | ACC_MKNOD]
NUMBERS = ((1, 3), (1, 7), (1, 11), (5, 2), (136, 4), (8, 0), (10, 200), (4294967295, 0), (2147483648, 1))
DEVICES = [(k, maj, mnr) for k in ("c", "b") for maj, mnr in NUMBERS]

CASES = {
    "docker default": [dict(r) for r in DEFAULT_DEVICE_RULES],
    "default + later deny": [*DEFAULT_DEVICE_RULES, {"allow": False, "type": "c", "major": 1, "minor": 7,
                                                     "access": "rw"}],
    "privileged": [{"allow": True, "access": "rwm"}],
    "device + cgroup rules": [*DEFAULT_DEVICE_RULES, {"allow": True, "type": "b", "major": 8, "minor": 0,
                                                      "access": "r"},
                              {"allow": True, "type": "c", "major": 4294967295, "access": "rwm"},
                              {"allow": False, "type": "c", "major": 2147483648, "minor": 1, "access": "m"}],
    "allow then deny everything": [{"allow": True, "access": "rwm"},
                                   {"allow": False, "type": "b", "access": "w"}],
    "no rules": [],
}


@pytest.mark.parametrize("name", list(CASES))
def test_program_matches_the_rule_semantics(name):
    rules = CASES[name]
    prog = device_program(rules)
    kinds = {"c": DEV_CHAR, "b": DEV_BLOCK}
    for (kind, major, minor), access in itertools.product(DEVICES, ACCESSES):
        got = run(prog, kinds[kind], access, major, minor)
        assert got == reference(rules, kind, access, major, minor), (name, kind, major, minor, access)


def test_what_follows_a_catch_all_is_left_out():
    # the verifier refuses unreachable instructions, so nothing may follow an unconditional rule
    assert len(device_program([{"allow": True, "access": "rwm"}])) // 8 == 8  # 6 loads + verdict
    assert device_program([{"allow": False, "access": "rwm"}, {"allow": True, "access": "rwm"}]) == \
        device_program([{"allow": True, "access": "rwm"}])


def test_bad_rules_are_refused():
    with pytest.raises(ValueError, match="invalid device access"):
        device_program([{"allow": True, "type": "c", "access": "rx"}])
    with pytest.raises(ValueError, match="out of the 32-bit range"):
        device_program([{"allow": True, "type": "c", "major": 1 << 32, "access": "r"}])
    with pytest.raises(ValueError, match="invalid device type"):
        device_program([{"allow": True, "type": "p", "access": "r"}])


def test_device_cgroup_rules_past_32_bits_are_refused_at_parse():
    from engine.errors import InvalidParameter
    from engine.runtime.devices import parse_rule

    top = parse_rule("c 4294967295:* rw")
    assert top == {"allow": True, "type": "c", "access": "rw", "major": 4294967295}
    with pytest.raises(InvalidParameter, match="invalid device cgroup rule format: 'c 4294967296:1 r'"):
        parse_rule("c 4294967296:1 r")
