"""A simulated power cut and reboot for a private engine (tests/support/engine.py): everything the kernel held
for it dies or disappears at once, the disk (its data root) stays as it was.

    power_cut(eng)   # kill -9 the engine, every monitor and every container process; then drop what a
                     # reboot drops: mounts, bridges/veths/namespaces/nft table, cgroups, the exec root
    eng.start()      # the "boot": the engine alone decides what comes back
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
from pathlib import Path

from tests.support.engine import (
    EngineProcess,
    _remove_cgroups,
    _sweep_network,
    _unmount_under,
)


def _cgroup_pids(ids: set[str]) -> set[int]:
    pids: set[int] = set()
    for procs in Path("/sys/fs/cgroup").glob("*/composer/*/cgroup.procs"):
        if procs.parent.name in ids:
            with contextlib.suppress(OSError, ValueError):
                pids.update(int(p) for p in procs.read_text().split())
    return pids


def _monitor_pids(exec_root: Path) -> set[int]:
    pids: set[int] = set()
    for status in (exec_root / "runtime").glob("*/*status.json"):
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(status.read_text())
            pids.update(int(data.get(k) or 0) for k in ("monitor_pid", "pid"))
    return {p for p in pids if p > 1}


def power_cut(eng: EngineProcess) -> None:
    containers = eng.data_root / "containers"
    ids = {p.name for p in containers.iterdir()} if containers.is_dir() else set()
    # the engine first, so nothing observes the deaths below and records them: the power is simply gone
    eng.kill9()
    for _ in range(3):  # a dying process's children can be re-parented and still alive: sweep again
        victims = _monitor_pids(eng.exec_root) | _cgroup_pids(ids)
        if not victims:
            break
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in victims:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, 0)
    _wait_gone(_monitor_pids(eng.exec_root) | _cgroup_pids(ids))
    # what a reboot drops: every mount, the network's kernel objects, cgroups, and /run (the exec root)
    _sweep_network(eng.data_root, eng.exec_root)
    _unmount_under(eng.base)
    _remove_cgroups(ids)
    shutil.rmtree(eng.exec_root)


def _wait_gone(pids: set[int]) -> None:
    import time

    deadline = time.monotonic() + 30
    while pids and time.monotonic() < deadline:
        pids = {p for p in pids if Path(f"/proc/{p}").exists() and _state(p) != "Z"}
        time.sleep(0.05)
    assert not pids, f"processes survived the power cut: {sorted(pids)}"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "X"
