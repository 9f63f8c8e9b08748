"""Docker seccomp profiles -> OCI -> our BPF: translation rules, and the compiled filter run for real in a
forked child (seccomp needs no privilege once no_new_privs is set), so each comparison and action is
checked by the kernel itself."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import signal
import struct
import threading
from collections.abc import Callable
from typing import Any

import pytest

from engine.errors import InvalidParameter
from engine.runtime import seccomp
from engine.runtime.bpf_seccomp import NATIVE, SeccompError, compile_filter, install
from engine.runtime.bpf_syscall_table import AARCH64, X86_64

MACHINE = os.uname().machine
NR = NATIVE[MACHINE][2]
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def _raw(nr: int, *args: int) -> int:
    """syscall(nr, args...) -> result or -errno (arguments passed as full 64-bit registers)."""
    res = libc.syscall(ctypes.c_long(nr), *(ctypes.c_ulong(a) for a in args))
    return -ctypes.get_errno() if res == -1 else int(res)


def run_filtered(
    profile: dict[str, Any], calls: Callable[[], Any], flags: tuple[str, ...] = ()
) -> tuple[int, Any]:
    """Fork; the child installs the filter (with seccomp(2) `flags`) and runs `calls`, sending back its
    JSON result. Returns (wait status, result or None)."""
    prog = compile_filter(profile)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            os.close(r)
            libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
            install(prog, flags)
            os.write(w, json.dumps(calls()).encode())
        except BaseException:
            code = 3
        os._exit(code)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    return status, json.loads(data) if data else None


def test_tables_agree_with_libseccomp():
    lib = ctypes.CDLL("libseccomp.so.2")
    lib.seccomp_syscall_resolve_name_arch.restype = ctypes.c_int
    lib.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
    for arch, table in ((0xC000003E, X86_64), (0xC00000B7, AARCH64)):
        for name, nr in table.items():
            known = lib.seccomp_syscall_resolve_name_arch(arch, name.encode())
            assert known in (nr, -10201) or known < 0, (name, nr, known)  # newer than libseccomp 2.5: absent
    assert X86_64["personality"] == 135 and X86_64["mkdir"] == 83 and AARCH64["mkdirat"] == 34


def test_errno_default_action_and_allowlist():
    profile = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": errno.EACCES,
        "syscalls": [{"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}],
    }
    # Python itself needs many calls to run; only raw calls happen after install here.
    profile["syscalls"][0]["names"] += ["write", "exit_group", "exit", "getppid", "munmap", "rt_sigreturn",
                                        "rt_sigprocmask", "mmap", "brk", "futex", "madvise"]
    status, out = run_filtered(profile, lambda: [_raw(NR["getpid"]) > 0, _raw(NR["getuid"])])
    assert os.waitstatus_to_exitcode(status) == 0, status
    assert out == [True, -errno.EACCES]


def _filters_in_force() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("Seccomp_filters:"))


@pytest.mark.parametrize("flags", [("SECCOMP_FILTER_FLAG_LOG",), ("SECCOMP_FILTER_FLAG_TSYNC",
                                                                   "SECCOMP_FILTER_FLAG_SPEC_ALLOW")])
def test_profile_flags_go_through_the_seccomp_syscall(flags: tuple[str, ...]) -> None:
    """prctl takes no flags: with them the filter is installed by seccomp(2), and it is still enforced."""
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EPERM}]}
    status, out = run_filtered(profile, lambda: [_filters_in_force(), _raw(NR["getppid"])], flags)
    assert os.waitstatus_to_exitcode(status) == 0, status
    assert out == [1, -errno.EPERM]


def test_tsync_flag_filters_the_other_threads_too() -> None:
    """SECCOMP_FILTER_FLAG_TSYNC only exists for seccomp(2): a thread started before the install is
    filtered with it, and not without it."""
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EPERM}]}
    prog = compile_filter(profile)

    def other_thread_sees(flags: tuple[str, ...]) -> int:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            ready, go, seen = threading.Event(), threading.Event(), []

            def call_after_install() -> None:
                ready.set()
                go.wait()
                seen.append(_raw(NR["getppid"]))

            worker = threading.Thread(target=call_after_install)
            worker.start()
            ready.wait()
            libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
            install(prog, flags)
            go.set()
            worker.join()
            os.write(w, json.dumps(seen[0]).encode())
            os._exit(0)
        os.close(w)
        data = os.read(r, 100)
        os.close(r)
        os.waitpid(pid, 0)
        return int(json.loads(data))

    assert other_thread_sees(("SECCOMP_FILTER_FLAG_TSYNC",)) == -errno.EPERM
    assert other_thread_sees(()) == os.getpid()  # the child's parent: this process


@pytest.mark.parametrize(
    ("op", "value", "two", "hits", "misses"),
    [
        ("SCMP_CMP_EQ", 0xFFFFFFFF, 0, [0xFFFFFFFF], [0, 0x1FFFFFFFF, 0xFFFFFFFE]),
        ("SCMP_CMP_NE", 5, 0, [4, 6, 5 | 1 << 32], [5]),
        ("SCMP_CMP_LT", 1 << 32, 0, [0, 0xFFFFFFFF], [1 << 32, (1 << 32) + 1, 1 << 40]),
        ("SCMP_CMP_LE", (1 << 32) + 7, 0, [7, (1 << 32) + 7], [(1 << 32) + 8, 2 << 32]),
        ("SCMP_CMP_GT", (1 << 32) + 7, 0, [(1 << 32) + 8, 2 << 32], [(1 << 32) + 7, 8, 0xFFFFFFFF]),
        ("SCMP_CMP_GE", 100, 0, [100, 101, 1 << 33], [99, 0]),
        ("SCMP_CMP_MASKED_EQ", 0xFF00000000F0, 0x120000000030, [0x120000000030, 0x7712ABCDEF0F3F],
         [0x120000000000, 0x130000000030]),
    ],
)
def test_argument_comparisons_in_the_kernel(op, value, two, hits, misses):
    profile = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77,
                      "args": [{"index": 2, "value": value, "valueTwo": two, "op": op}]}],
    }
    status, out = run_filtered(profile, lambda: [_raw(NR["getppid"], 0, 0, v) for v in hits + misses])
    assert os.waitstatus_to_exitcode(status) == 0
    assert out[: len(hits)] == [-77] * len(hits)
    assert all(r > 0 for r in out[len(hits) :]), out


def test_conditions_and_or_first_match():
    profile = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            # two indexes: both must hold
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 11,
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                      {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]},
            # same index twice: either (as runc)
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 12,
             "args": [{"index": 0, "value": 3, "op": "SCMP_CMP_EQ"},
                      {"index": 0, "value": 4, "op": "SCMP_CMP_EQ"}]},
            {"names": ["getppid", "no_such_call_anywhere"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 14},  # shadowed
        ],
    }
    calls = [(1, 2), (1, 9), (3, 0), (4, 0), (5, 0)]
    status, out = run_filtered(profile, lambda: [_raw(NR["getppid"], a, b) for a, b in calls])
    assert os.waitstatus_to_exitcode(status) == 0
    assert out == [-11, -13, -12, -12, -13]


@pytest.mark.parametrize(
    ("action", "expect"),
    [("SCMP_ACT_KILL_PROCESS", -signal.SIGSYS), ("SCMP_ACT_KILL", -signal.SIGSYS),
     ("SCMP_ACT_TRAP", -signal.SIGSYS), ("SCMP_ACT_LOG", 0)],
)
def test_kill_trap_and_log_actions(action, expect):
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["getppid"], "action": action}]}
    status, _ = run_filtered(profile, lambda: _raw(NR["getppid"]) > 0)
    assert os.waitstatus_to_exitcode(status) == expect


def test_foreign_abi_refused_or_killed():
    native = NATIVE[MACHINE][1]
    # a profile for other ABIs only: the native one is foreign to it, so its first call is killed
    status, _ = run_filtered({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_PPC"]},
                             lambda: _raw(NR["getppid"]))
    assert os.waitstatus_to_exitcode(status) == -signal.SIGSYS
    if MACHINE == "x86_64":  # the x32 bit: refused (EPERM) when the profile names x32, killed when not
        profile = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": [native, "SCMP_ARCH_X32"]}
        status, out = run_filtered(profile, lambda: _raw(0x40000000 | NR["getppid"]))
        assert out == -errno.EPERM
        status, out = run_filtered({**profile, "architectures": [native]},
                                   lambda: _raw(0x40000000 | NR["getppid"]))
        assert os.waitstatus_to_exitcode(status) == -signal.SIGSYS


def test_default_profile_still_compiles_and_denies():
    profile = seccomp.default_profile(["CAP_CHOWN"])
    assert profile is not None
    status, out = run_filtered(profile, lambda: [_raw(NR["keyctl"], 0), _raw(NR["clone3"], 0, 0),
                                                 _raw(NR["unshare"], 0x10000000), _raw(NR["getppid"]) > 0])
    assert out == [-errno.EPERM, -errno.ENOSYS, -errno.EPERM, True]


def test_docker_profile_translation():
    text = json.dumps({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "archMap": [{"architecture": "SCMP_ARCH_X86_64",
                     "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
        "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
            {"name": "mount", "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]},
             "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
            {"names": ["old"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "4.8"}},
        ],
    })
    plain = seccomp.docker_profile(text, ["CAP_CHOWN"], "x86_64")
    assert plain["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    assert plain["defaultErrnoRet"] == 1
    names = [r["names"] for r in plain["syscalls"]]
    assert names == [["read", "write"], ["arch_prctl"], ["clone"], ["ptrace"]]
    assert plain["syscalls"][2]["args"] == [{"index": 0, "value": 2114060288, "valueTwo": 0,
                                            "op": "SCMP_CMP_MASKED_EQ"}]
    admin = seccomp.docker_profile(text, ["CAP_SYS_ADMIN"], "aarch64")
    assert admin["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    assert [r["names"] for r in admin["syscalls"]] == [["read", "write"], ["mount"], ["ptrace"]]


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ("{not json", "Decoding seccomp profile failed"),
        ("[]", "expected the profile's JSON text"),
        ("./profile.json", "expected the profile's JSON text, got './profile.json'"),
        ('{"defaultAction": "SCMP_ACT_NOPE"}', 'unknown action "SCMP_ACT_NOPE"'),
        ('{"defaultAction": "SCMP_ACT_NOTIFY"}', "SCMP_ACT_NOTIFY needs a seccomp listener"),
        ('{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], '
         '"archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}', 'both "architectures" and "archMap"'),
        ('{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]}', "unknown architecture"),
        ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "a", "names": ["b"], "action": '
         '"SCMP_ACT_ALLOW"}]}', 'both "name" and "names"'),
        ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", '
         '"args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}', "syscalls\\[0\\]: argument index 6"),
        ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", '
         '"args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"}]}]}', "unknown comparison operator"),
        ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", '
         '"errnoRet": -1}]}', "errno -1"),
        ('{"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_FAST"]}',
         "unknown seccomp flag"),
    ],
)
def test_invalid_profiles_are_one_clear_line(profile, message):
    with pytest.raises(SeccompError, match=message):
        seccomp.docker_profile(profile, [], "x86_64")
    with pytest.raises(InvalidParameter, match="^invalid seccomp profile: "):
        seccomp.linux_seccomp(seccomp.SecurityOptions(seccomp=profile), False, [])


def test_security_opts_parsing():
    p = seccomp.parse_security_opts
    assert p(["no-new-privileges"]).no_new_privileges
    assert p(["no-new-privileges=true"]).no_new_privileges
    assert not p(["no-new-privileges:false"]).no_new_privileges
    assert p(["seccomp:unconfined"]).seccomp == "unconfined"
    profile = '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["a:b"]}]}'
    assert p([f"seccomp={profile}"]).seccomp == profile  # the first '=' splits, colons inside stay
    assert p(["label=disable", "apparmor=unconfined", "label:type:x"]) == seccomp.SecurityOptions()
    with pytest.raises(InvalidParameter, match='invalid --security-opt 1: "bogus"'):
        p(["bogus"])
    with pytest.raises(InvalidParameter, match='invalid --security-opt 2: "nope=1"'):
        p(["nope=1"])
    with pytest.raises(InvalidParameter, match="invalid --security-opt 2"):
        p(["no-new-privileges=maybe"])
    assert seccomp.linux_seccomp(p(["seccomp=unconfined"]), False, []) is None
    assert seccomp.linux_seccomp(p([f"seccomp={profile}"]), True, []) is None  # privileged wins


def test_big_profile_fits_and_long_blocks_jump():
    every = sorted(NR)
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": every, "action": "SCMP_ACT_ALLOW"}]}
    # one syscall with > 255 instructions of argument rules needs the long-jump form
    many = [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 20 + i,
             "args": [{"index": 0, "value": 1000 + i, "op": "SCMP_CMP_EQ"}]} for i in range(60)]
    profile["syscalls"] = many + profile["syscalls"]
    status, out = run_filtered(profile, lambda: [_raw(NR["getppid"], 1000 + 59), _raw(NR["getppid"], 5) > 0])
    assert os.waitstatus_to_exitcode(status) == 0
    assert out == [-(20 + 59), True]


def _interpret(prog: bytes, nr: int, arch: int, args: tuple[int, ...] = ()) -> int:
    """Classic BPF as seccomp runs it, for the opcodes the compiler emits."""
    words = [nr, arch, 0, 0]
    for a in (*args, 0, 0, 0, 0, 0, 0)[:6]:
        words += [a & 0xFFFFFFFF, a >> 32]
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = struct.unpack_from("HBBI", prog, pc * 8)
        pc += 1
        if code == 0x20:
            acc = words[k // 4]
        elif code == 0x54:
            acc &= k
        elif code == 0x05:
            pc += k
        elif code in (0x15, 0x25, 0x35):
            hit = acc == k if code == 0x15 else acc > k if code == 0x25 else acc >= k
            pc += jt if hit else jf
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_search_tree_finds_every_syscall(machine):
    audit, _name, table = NATIVE[machine]
    names = sorted(table)
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 4095,
               "syscalls": [{"names": [n], "action": "SCMP_ACT_ERRNO", "errnoRet": i + 1}
                            for i, n in enumerate(names)]}
    prog = compile_filter(profile, machine)
    assert len(prog) // 8 < 4096
    for i, name in enumerate(names):
        assert _interpret(prog, table[name], audit) == 0x00050000 | (i + 1), name
    for nr in set(range(600)) - set(table.values()):
        assert _interpret(prog, nr, audit) == 0x00050000 | 4095
    # an argument rule behind the search still sees its arguments
    profile["syscalls"].insert(0, {"names": ["getppid"], "action": "SCMP_ACT_ALLOW",
                                   "args": [{"index": 1, "value": 1 << 40, "op": "SCMP_CMP_GE"}]})
    prog = compile_filter(profile, machine)
    assert _interpret(prog, table["getppid"], audit, (0, 1 << 41)) == 0x7FFF0000
    assert _interpret(prog, table["getppid"], audit, (0, 5)) == 0x00050000 | (names.index("getppid") + 1)


def test_rules_with_the_default_action_shadow_nothing():
    # as runc drops them: getppid(0) is refused by the second rule, not allowed by the first
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["getppid"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
        {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 9},
    ]}
    audit, _name, table = NATIVE["x86_64"]
    assert _interpret(compile_filter(profile, "x86_64"), table["getppid"], audit, (0,)) == 0x00050009

