"""cgroup v2 device control for real: our eBPF device program, loaded with bpf(2) and attached to a cgroup
on this host's cgroup2 mount (hybrid hosts have one beside the v1 controllers; device programs work on
it whatever controllers it holds), decides a real process's opens of real device nodes."""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.runtime import cgroups
from engine.runtime.bpf_device import device_program
from engine.runtime.bpf_load import (
    attached_device_programs,
    install_device_rules,
    load_device_program,
)
from engine.runtime.cgroups import Cgroup
from engine.runtime.oci import DEFAULT_DEVICE_RULES

pytestmark = pytest.mark.root

# Every node is made with mknod (allowed by "c *:* m"), then opened for writing without writing anything:
# "<node> ok", or "<node> <the error>" (a refused open is EPERM, as the program returns 0).
PROBE = """
read go
mount -t tmpfs -o mode=755 tmpfs "$1" && cd "$1" || exit 9
mknod null c 1 3 && mknod full c 1 7 && mknod zero c 1 5 && mknod kmsg c 1 11 || exit 8
for node in null full kmsg zero; do
  if err=$( (: > $node) 2>&1 ); then echo "$node ok"; else echo "$node ${err##*: }"; fi
done
"""
DENIED = "Operation not permitted"


def unified_root() -> Path:
    if cgroups.detect_version() == 2:
        return cgroups.CGROUP_ROOT
    mounts = cgroups.hybrid_unified_mounts()
    assert mounts, "no cgroup2 mount on this host"
    return mounts[0]


def probe_in(cgroup_dir: Path, scratch: Path) -> list[str]:
    """Start the probe in a private mount namespace, move it into `cgroup_dir`, let it go; its report."""
    scratch.mkdir(exist_ok=True)
    proc = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", PROBE, "probe", str(scratch)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        (cgroup_dir / "cgroup.procs").write_text(str(proc.pid))
        out, err = proc.communicate("go\n", timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, (proc.returncode, out, err)
    return out.splitlines()


@pytest.fixture
def cgroup_dir() -> Iterator[Path]:
    d = unified_root() / f"composer-test-dev-{uuid.uuid4().hex[:8]}"
    d.mkdir()
    try:
        yield d
    finally:
        for pid in (d / "cgroup.procs").read_text().split() if d.is_dir() else []:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), 9)
        for _ in range(200):
            try:
                d.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                os.sched_yield()


def test_program_decides_opens_last_rule_wins(cgroup_dir, tmp_path):
    # Docker's default list allows /dev/full (1:7); a later deny of its r/w overrides that (not its mknod)
    rules = [*DEFAULT_DEVICE_RULES, {"allow": False, "type": "c", "major": 1, "minor": 7, "access": "rw"}]
    install_device_rules(str(cgroup_dir), device_program(rules))
    assert len(attached_device_programs(str(cgroup_dir))) == 1
    report = probe_in(cgroup_dir, tmp_path / "dev")
    assert report == ["null ok", f"full {DENIED}", f"kmsg {DENIED}", "zero ok"]


def test_outside_the_cgroup_nothing_is_denied(tmp_path):
    root = unified_root()
    here = root / (Path("/proc/self/cgroup").read_text().splitlines()[-1].split(":", 2)[2].lstrip("/"))
    # the probe stays where the test runs (moving it to its own cgroup is a no-op)
    assert probe_in(here, tmp_path / "dev") == ["null ok", "full ok", "kmsg ok", "zero ok"]


def test_allow_all_and_wildcards(cgroup_dir, tmp_path):
    rules = [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 1, "access": "rwm"},
             {"allow": False, "type": "c", "minor": 11, "access": "w"}]
    install_device_rules(str(cgroup_dir), device_program(rules))
    assert probe_in(cgroup_dir, tmp_path / "dev") == ["null ok", "full ok", f"kmsg {DENIED}", "zero ok"]


def test_runtime_v2_path_on_the_unified_mount(tmp_path):
    """engine.runtime.cgroups' v2 code, run for real on the cgroup2 mount: create (with Docker's default
    device rules), join, enforce, destroy."""
    root = unified_root()
    parent = f"composer-test-{uuid.uuid4().hex[:8]}"
    cg = Cgroup(f"/{parent}/c1", root=root)
    try:
        cg.create({"devices": [dict(r) for r in DEFAULT_DEVICE_RULES]})
        d = root / parent / "c1"
        assert d.is_dir() and cg.version == 2
        assert len(attached_device_programs(str(d))) == 1
        assert probe_in(d, tmp_path / "dev") == ["null ok", "full ok", f"kmsg {DENIED}", "zero ok"]
        cg.destroy()
        assert not d.exists()
    finally:
        cg.destroy()
        with contextlib.suppress(FileNotFoundError):
            (root / parent).rmdir()


def test_verifier_refusal_is_reported_with_its_log():
    bad = bytes([0x95, 0, 0, 0, 0, 0, 0, 0])  # exit without setting r0
    with pytest.raises(OSError, match=r"BPF_PROG_LOAD.*verifier log: .*R0 !read_ok"):
        load_device_program(bad)
