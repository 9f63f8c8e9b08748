"""The cgroup v2 code path, against a fake unified hierarchy in a temp dir (this host is v1; CI may be too).

The kernel's files are plain files here, so this checks what we write and how we read, not the kernel.
"""

from __future__ import annotations

import pytest

from engine.runtime import cgroups, stats
from engine.runtime.cgroups import Cgroup


@pytest.fixture
def unified(tmp_path, monkeypatch):
    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids\n")
    monkeypatch.setattr(cgroups, "CGROUP_ROOT", root)
    cgroups.detect_version.cache_clear()
    yield root
    cgroups.detect_version.cache_clear()


def test_detects_v2_and_enables_controllers_down_the_path(unified):
    assert cgroups.detect_version() == 2
    cg = Cgroup("/composer/abc")
    assert cg.dirs() == {"unified": unified / "composer/abc"}
    cg.create({})
    assert (unified / "composer/abc").is_dir()
    for level in (unified, unified / "composer"):
        assert (level / "cgroup.subtree_control").read_text() == "+cpuset +cpu +io +memory +pids"


def test_limits_are_written_in_v2_units(unified):
    d = unified / "composer/abc"
    d.mkdir(parents=True)
    (d / "memory.swap.max").write_text("max\n")
    mib = 1024 * 1024
    Cgroup("/composer/abc").apply({
        "memory": {"limit": 64 * mib, "swap": 96 * mib, "reservation": 32 * mib},
        "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0-1"},
        "pids": {"limit": 20},
    })
    assert (d / "memory.max").read_text() == str(64 * mib)
    assert (d / "memory.swap.max").read_text() == str(32 * mib)  # OCI swap is memory+swap; v2 wants swap only
    assert (d / "memory.low").read_text() == str(32 * mib)
    assert (d / "cpu.weight").read_text() == "39"  # Docker's shares -> weight conversion
    assert (d / "cpu.max").read_text() == "50000 100000"
    assert (d / "cpuset.cpus").read_text() == "0-1"
    assert (d / "pids.max").read_text() == "20"


def test_freeze_oom_and_pids(unified):
    d = unified / "composer/abc"
    d.mkdir(parents=True)
    (d / "cgroup.events").write_text("populated 1\nfrozen 1\n")
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    (d / "cgroup.procs").write_text("12\n34\n")
    cg = Cgroup("/composer/abc")
    cg.freeze(True)
    assert (d / "cgroup.freeze").read_text() == "1"
    assert cg.is_frozen() and cg.oom_killed()
    assert cg.pids() == [12, 34]


def test_stats_sample_v2(unified):
    d = unified / "composer/abc"
    d.mkdir(parents=True)
    (d / "cpu.stat").write_text("usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\n"
                                "nr_throttled 1\nthrottled_usec 7\n")
    (d / "memory.current").write_text("4096\n")
    (d / "memory.max").write_text("8192\n")
    (d / "memory.stat").write_text("anon 100\ninactive_file 10\n")
    (d / "pids.current").write_text("3\n")
    (d / "pids.max").write_text("max\n")
    (d / "io.stat").write_text("8:0 rbytes=100 wbytes=200 rios=1 wios=2\n")
    got = stats.sample(Cgroup("/composer/abc"))
    assert got["cpu_stats"]["cpu_usage"] == {"total_usage": 1_500_000, "usage_in_kernelmode": 500_000,
                                             "usage_in_usermode": 1_000_000}
    throttling = {"periods": 4, "throttled_periods": 1, "throttled_time": 7000}
    assert got["cpu_stats"]["throttling_data"] == throttling
    assert got["memory_stats"] == {"usage": 4096, "limit": 8192, "stats": {"anon": 100, "inactive_file": 10}}
    assert got["pids_stats"] == {"current": 3}
    assert got["blkio_stats"]["io_service_bytes_recursive"] == [
        {"major": 8, "minor": 0, "op": "read", "value": 100},
        {"major": 8, "minor": 0, "op": "write", "value": 200},
    ]
    assert got["cpu_stats"]["online_cpus"] >= 1 and got["cpu_stats"]["system_cpu_usage"] > 0
