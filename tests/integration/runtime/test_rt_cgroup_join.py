"""The monitor moves the container's init into its cgroup while the init sets up namespaces and mounts
(monitor._fork): the program must still start inside the cgroup, under its limits, and a private cgroup
namespace must be rooted at that cgroup."""

from __future__ import annotations

import pytest

from engine.runtime.cgroups import Cgroup
from tests.integration.runtime.rt_support import Box

pytestmark = pytest.mark.root


def test_program_starts_in_its_cgroup_under_its_limits(box: Box) -> None:
    state, out = box.run(["sh", "-c", "cat /proc/self/cgroup; cat /proc/1/cgroup"],
                         host={"PidsLimit": 7, "CgroupnsMode": "host"})
    assert state.exit_code == 0, out
    expected = f"/{box.parent}/c1"
    cg = Cgroup(expected)
    lines = [line for line in out.splitlines() if line]
    # every hierarchy (v1) or the unified one (v2) names the container's cgroup, for pid 1 too
    for name in cg.dirs():
        controllers = "" if name == "unified" else name  # v2's line is "0::<path>"
        mine = [line for line in lines if line.split(":")[1] == controllers]
        assert len(mine) == 2 and all(line.endswith(expected) for line in mine), (name, out)


def test_private_cgroup_namespace_is_rooted_at_the_container(box: Box) -> None:
    state, out = box.run(["cat", "/proc/self/cgroup"], host={"CgroupnsMode": "private"})
    assert state.exit_code == 0, out
    paths = {line.split(":", 2)[2] for line in out.splitlines() if line}
    assert paths == {"/"}, out
