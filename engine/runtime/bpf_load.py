"""bpf(2) through ctypes: load a cgroup device program, attach it to a cgroup directory, list what is
attached. Errors are OSError naming the call; a load the verifier refuses carries the verifier's log.

Attached with BPF_F_ALLOW_MULTI, as runc does: programs on ancestor cgroups still run too (a device is
usable only if every one of them allows it), and others may attach beside ours.
"""

from __future__ import annotations

import ctypes
import os
import struct

from engine.runtime.bpf_syscall_table import AARCH64, X86_64

PROG_TYPE_CGROUP_DEVICE = 15
ATTACH_CGROUP_DEVICE = 6
F_ALLOW_MULTI = 2
_PROG_LOAD, _PROG_ATTACH, _PROG_DETACH, _PROG_QUERY = 5, 8, 9, 16
_ATTR_SIZE = 128  # larger than any field we set; the kernel wants the tail zeroed
_LICENSE = b"Apache-2.0\0"  # no GPL-only helpers are called, so any license loads
_NR = {"x86_64": X86_64["bpf"], "aarch64": AARCH64["bpf"]}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _bpf(cmd: int, attr: ctypes.Array[ctypes.c_char], what: str) -> int:
    machine = os.uname().machine
    if machine not in _NR:
        raise OSError(38, f"bpf: no syscall number known for {machine}")
    res = _libc.syscall(ctypes.c_long(_NR[machine]), ctypes.c_int(cmd), attr, ctypes.c_uint(_ATTR_SIZE))
    if res < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return int(res)


def load_device_program(insns: bytes, name: str = "composer_dev") -> int:
    """BPF_PROG_LOAD of a BPF_PROG_TYPE_CGROUP_DEVICE program; returns its fd (the caller closes it)."""
    code = ctypes.create_string_buffer(insns, len(insns))
    lic = ctypes.create_string_buffer(_LICENSE, len(_LICENSE))
    log = ctypes.create_string_buffer(65536)
    attr = ctypes.create_string_buffer(_ATTR_SIZE)
    struct.pack_into("<IIQQIIQ", attr, 0, PROG_TYPE_CGROUP_DEVICE, len(insns) // 8,
                     ctypes.addressof(code), ctypes.addressof(lic), 1, len(log), ctypes.addressof(log))
    struct.pack_into("16s", attr, 48, name.encode()[:15])
    try:
        return _bpf(_PROG_LOAD, attr, f"bpf(BPF_PROG_LOAD, cgroup device, {len(insns) // 8} insns)")
    except OSError as e:
        verifier = "; ".join(log.value.decode(errors="replace").split("\n")).strip("; ")
        if verifier:
            raise OSError(e.errno, f"{e.strerror}; verifier log: {verifier}") from None
        raise


def attach_device_program(cgroup_dir: str, prog_fd: int) -> None:
    """BPF_PROG_ATTACH(BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) to a cgroup v2 directory."""
    dfd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        attr = ctypes.create_string_buffer(_ATTR_SIZE)
        struct.pack_into("<IIII", attr, 0, dfd, prog_fd, ATTACH_CGROUP_DEVICE, F_ALLOW_MULTI)
        _bpf(_PROG_ATTACH, attr, f"bpf(BPF_PROG_ATTACH, {cgroup_dir}, BPF_CGROUP_DEVICE)")
    finally:
        os.close(dfd)


def attached_device_programs(cgroup_dir: str) -> list[int]:
    """BPF_PROG_QUERY: ids of the device programs attached to this cgroup directory itself."""
    dfd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        ids = (ctypes.c_uint32 * 64)()
        attr = ctypes.create_string_buffer(_ATTR_SIZE)
        struct.pack_into("<IIIIQI", attr, 0, dfd, ATTACH_CGROUP_DEVICE, 0, 0, ctypes.addressof(ids), 64)
        _bpf(_PROG_QUERY, attr, f"bpf(BPF_PROG_QUERY, {cgroup_dir}, BPF_CGROUP_DEVICE)")
        count = struct.unpack_from("<I", attr, 24)[0]
        return list(ids[: min(count, 64)])
    finally:
        os.close(dfd)


def install_device_rules(cgroup_dir: str, insns: bytes) -> None:
    """Load and attach; the attachment keeps the program alive, so our fd is closed at once."""
    fd = load_device_program(insns)
    try:
        attach_device_program(cgroup_dir, fd)
    finally:
        os.close(fd)
