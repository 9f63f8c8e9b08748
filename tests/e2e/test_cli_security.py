"""`docker run --security-opt ...` against our engine with the real docker CLI: custom seccomp profiles
(the CLI reads the file and sends its JSON), seccomp=unconfined, no-new-privileges, privileged; on the
built-in runtime and on runc (which takes the OCI linux.seccomp we translate)."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from engine.runtime.bpf_seccomp import NATIVE
from tests.e2e.helpers import DockerCLI

pytestmark = [pytest.mark.e2e, pytest.mark.root]

RUNTIMES = ["composer", "runc"]
EPERM_TEXT, EACCES_TEXT = "Operation not permitted", "Permission denied"


def profile_file(tmp_path: Path, profile: dict, name: str = "p.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(profile))
    return str(path)


def deny(names: list[str], **extra: object) -> dict:
    return {"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": names, "action": "SCMP_ACT_ERRNO", **extra}]}


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_profile_denies_mkdir_with_its_errno(docker: DockerCLI, tmp_path: Path, runtime: str) -> None:
    plain = profile_file(tmp_path, deny(["mkdir", "mkdirat"]), "eperm.json")
    res = docker("run", "--rm", "--runtime", runtime, "--security-opt", f"seccomp={plain}", "busybox",
                 "mkdir", "/x", rc=1)
    assert EPERM_TEXT in res.err
    eacces = profile_file(tmp_path, deny(["mkdir", "mkdirat"], errnoRet=errno.EACCES), "eacces.json")
    res = docker("run", "--rm", "--runtime", runtime, "--security-opt", f"seccomp={eacces}", "busybox",
                 "sh", "-c", "mkdir /x; touch /y && echo touched", rc=0)
    assert EACCES_TEXT in res.err and res.out == "touched\n"
    # without the option the default profile applies, which allows mkdir
    assert docker("run", "--rm", "--runtime", runtime, "busybox", "mkdir", "/x").rc == 0


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_argument_filter_denies_one_personality_only(docker: DockerCLI, tmp_path: Path, runtime: str) -> None:
    per_linux32 = 0x0008
    p = profile_file(tmp_path, deny(["personality"], args=[{"index": 0, "value": per_linux32,
                                                             "op": "SCMP_CMP_EQ"}]))
    res = docker("run", "--rm", "--runtime", runtime, "--security-opt", f"seccomp={p}", "busybox",
                 "sh", "-c", "linux64 uname -m; linux32 uname -m", rc=1)
    assert res.out == f"{os.uname().machine}\n"
    assert EPERM_TEXT in res.err


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_allowlist_profile_with_capability_includes(docker: DockerCLI, tmp_path: Path, runtime: str) -> None:
    """Docker's style: deny by default, allow a list; mkdir only for containers holding CAP_SYS_ADMIN."""
    everything = sorted(set(NATIVE[os.uname().machine][2]) - {"mkdir", "mkdirat"})
    p = profile_file(tmp_path, {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": errno.EPERM,
        "archMap": [{"architecture": "SCMP_ARCH_X86_64",
                     "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                    {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
        "syscalls": [
            {"names": everything + ["a_name_no_kernel_has"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ALLOW",
             "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        ],
    })
    base = ["run", "--rm", "--runtime", runtime, "--security-opt", f"seccomp={p}"]
    assert EPERM_TEXT in docker(*base, "busybox", "mkdir", "/x", rc=1).err
    made = docker(*base, "--cap-add", "SYS_ADMIN", "busybox", "sh", "-c", "mkdir /x && echo made")
    assert made.out == "made\n"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_unconfined_and_privileged_lift_the_filter(docker: DockerCLI, tmp_path: Path, runtime: str) -> None:
    # the default profile refuses new user namespaces to a container without CAP_SYS_ADMIN
    script = "unshare -U true && echo userns"
    assert EPERM_TEXT in docker("run", "--rm", "--runtime", runtime, "busybox", "sh", "-c", script, rc=1).err
    res = docker("run", "--rm", "--runtime", runtime, "--security-opt", "seccomp=unconfined", "busybox",
                 "sh", "-c", script)
    assert res.out == "userns\n"
    p = profile_file(tmp_path, deny(["mkdir", "mkdirat"]))
    res = docker("run", "--rm", "--runtime", runtime, "--privileged", "--security-opt", f"seccomp={p}",
                 "busybox", "sh", "-c", "mkdir /x && echo made")
    assert res.out == "made\n"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_no_new_privileges(docker: DockerCLI, runtime: str) -> None:
    show = ["busybox", "grep", "NoNewPrivs", "/proc/self/status"]
    assert docker("run", "--rm", "--runtime", runtime, *show).out.split() == ["NoNewPrivs:", "0"]
    res = docker("run", "--rm", "--runtime", runtime, "--security-opt", "no-new-privileges", *show)
    assert res.out.split() == ["NoNewPrivs:", "1"]


def test_bad_options_are_refused_at_create(docker: DockerCLI, tmp_path: Path) -> None:
    before = docker("ps", "-aq").out
    bad = profile_file(tmp_path, {"defaultAction": "SCMP_ACT_ALLOW",
                                  "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_EXPLODE"}]})
    res = docker("create", "--security-opt", f"seccomp={bad}", "busybox", "true", rc=1)
    assert 'invalid seccomp profile: syscalls[0]: unknown action "SCMP_ACT_EXPLODE"' in res.err
    assert "Traceback" not in res.err and len(res.err.strip().splitlines()) == 1
    res = docker("run", "--rm", "--security-opt", "bogus=1", "busybox", "true", rc=125)
    assert 'invalid --security-opt 2: "bogus=1"' in res.err
    assert docker("ps", "-aq").out == before


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_both_runtimes_decide_alike(docker: DockerCLI, tmp_path: Path, runtime: str) -> None:
    """A rule with the default action is dropped (it shadows nothing); one argument tested twice means
    either value; the first applicable rule of a syscall decides."""
    def mode_is(*modes: int) -> list[dict]:
        return [{"index": 1, "value": m, "op": "SCMP_CMP_EQ"} for m in modes]

    p = profile_file(tmp_path, {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["chmod"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EACCES,
         "args": mode_is(0o700, 0o750)},
        {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.ENOSPC, "args": mode_is(0o600)},
    ]})
    script = "touch /f; for m in 700 750 755 600; do chmod $m /f 2>&1 || true; done; stat -c %a /f"
    res = docker("run", "--rm", "--runtime", runtime, "--security-opt", f"seccomp={p}", "busybox",
                 "sh", "-c", script)
    lines = res.out.splitlines()  # 755 is allowed silently
    assert [EACCES_TEXT in lines[0], EACCES_TEXT in lines[1], "No space left" in lines[2]] == [True] * 3
    assert lines[3] == "755"
