"""Custom seccomp profiles through the runtime: HostConfig.SecurityOpt -> build_spec's linux.seccomp ->
the built-in runtime's BPF, and the same bundle run by runc (libseccomp reads our OCI translation)."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator

import pytest

from engine.runtime.bpf_seccomp import NATIVE
from tests.integration.runtime.rt_support import Box, runtime_box

pytestmark = pytest.mark.root


@pytest.fixture(params=["composer", "runc"])
def any_box(request, busybox_rootfs, tmp_path) -> Iterator[Box]:  # type: ignore[no-untyped-def]
    binary = "runc" if request.param == "runc" else None
    with runtime_box(tmp_path / f"exec-{request.param}", busybox_rootfs, tmp_path, binary=binary) as b:
        yield b


def opts(profile: dict) -> dict:
    return {"SecurityOpt": [f"seccomp={json.dumps(profile)}"]}


def on(names: list[str], action: str, **extra: object) -> dict:
    return {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": names, "action": action, **extra}]}


def test_errno_and_default_errno(any_box):
    enospc = opts(on(["mkdir", "mkdirat"], "SCMP_ACT_ERRNO", errnoRet=28))
    state, out = any_box.run(["mkdir", "/x"], cid="s1", host=enospc)
    assert state.exit_code == 1 and "No space left on device" in out
    # deny by default with an errno of the profile's choosing; allow every call but mkdir
    table = NATIVE[os.uname().machine][2]
    allowed = sorted(set(table) - {"mkdir", "mkdirat"})
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 13,
               "syscalls": [{"names": allowed, "action": "SCMP_ACT_ALLOW"}]}
    state, out = any_box.run(["sh", "-c", "echo start; mkdir /x"], cid="s2", host=opts(profile))
    assert out.startswith("start\n") and "Permission denied" in out and state.exit_code == 1


def test_kill_and_trap_end_the_container_with_sigsys(any_box):
    sigsys = 128 + signal.SIGSYS
    kill = opts(on(["mkdir", "mkdirat"], "SCMP_ACT_KILL_PROCESS"))
    state, _ = any_box.run(["mkdir", "/x"], cid="k1", host=kill)
    assert state.exit_code == sigsys
    state, _ = any_box.run(["mkdir", "/x"], cid="k2", host=opts(on(["mkdir", "mkdirat"], "SCMP_ACT_TRAP")))
    assert state.exit_code == sigsys
    state, out = any_box.run(["sh", "-c", "mkdir /x && echo logged"], cid="k3",
                             host=opts(on(["mkdir", "mkdirat"], "SCMP_ACT_LOG")))
    assert state.exit_code == 0 and out == "logged\n"


def test_argument_comparison_masked(any_box):
    # refuse only openat with O_CREAT (0o100) in its flags: reading works, creating a file does not
    profile = on(["openat", "open"], "SCMP_ACT_ERRNO",
                 args=[{"index": 2, "value": 0o100, "valueTwo": 0o100, "op": "SCMP_CMP_MASKED_EQ"}])
    profile["syscalls"][0]["names"] = ["openat"]
    state, out = any_box.run(["sh", "-c", "head -c 5 /etc/group && echo read; echo x > /new || exit 3"],
                             cid="m1", host=opts(profile))
    assert state.exit_code == 3 and out.startswith("root:read\n") and "Operation not permitted" in out
