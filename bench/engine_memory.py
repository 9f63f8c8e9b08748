"""Benchmark: memory of our engine. The daemon's idle RSS/PSS, then what each running container adds
(daemon growth + its monitor + its process), measured with 10 `busybox sleep` containers.

The engine runs as users run it: `composer-engine` installed from a wheel of this checkout in a new venv
(engine_common.installed_venv); `--in-place` runs this checkout's `python3 -m engine.daemon` in this
machine's interpreter instead, whose site-packages' .pth hooks add ~4 MiB to every Python process.

    python3 bench/engine_memory.py [-n CONTAINERS] [--in-place]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import tempfile
import time
from pathlib import Path

import engine_common  # noqa: F401  (first: it puts the repository on sys.path for peers)
import peers
from engine_common import (
    descendants,
    docker,
    installed_venv,
    machine,
    parent_pid,
    private_engine,
    pss_kib,
    rss_kib,
)


def settle() -> None:
    time.sleep(1.0)  # let the daemon finish lazy work (imports, caches) before reading /proc


def measure_dockerd(n: int) -> tuple[int, int, float, float, int]:
    """dockerd + containerd idle, then per container (daemons' growth + shim + process); KiB; shim count."""
    with peers.private_dockerd() as (env, tmp, _daemon):
        docker(env, "run", "--rm", "busybox", "true")  # the same warm-up cycle as ours
        settle()
        idle = peers.peer_pids(tmp)
        idle_rss, idle_pss = sum(map(rss_kib, idle)), sum(map(pss_kib, idle))
        ids = [docker(env, "run", "-d", "busybox", "sleep", "600").strip() for _ in range(n)]
        settle()
        pids = [json.loads(docker(env, "inspect", "--format", "{{json .State.Pid}}", cid)) for cid in ids]
        tree = [p for p in peers.peer_pids(tmp) if p not in pids]  # dockerd, containerd, the shims
        shims = len(tree) - len(idle)
        rss = sum(map(rss_kib, tree)) + sum(map(rss_kib, pids))
        pss = sum(map(pss_kib, tree)) + sum(map(pss_kib, pids))
    return idle_rss, idle_pss, (rss - idle_rss) / n, (pss - idle_pss) / n, shims


def monitor_is_native(pid: int) -> bool:
    """The C monitor (engine/runtime/native): the engine's only one, checked all the same."""
    try:
        return "/native/cmon" in os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return False


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", "--containers", type=int, default=10)
    p.add_argument("--in-place", action="store_true", help="this checkout's daemon, not an installed one")
    args = p.parse_args()
    n = args.containers
    if n < 1:
        p.error("--containers must be at least 1")
    print(f"date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    with contextlib.ExitStack() as stack:
        command: tuple[str, ...] = ()
        if not args.in_place:
            venv = installed_venv(
                Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-venv-")))
            )
            command = (str(venv / "bin" / "composer-engine"),)
        print(f"engine: {' '.join(command) or 'python3 -m engine.daemon (this checkout, in place)'}")
        cfg = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-cli-"))
        eng = stack.enter_context(private_engine(command))
        env = eng.env(Path(cfg))
        docker(env, "run", "--rm", "busybox", "true")  # one warm-up cycle: first-use imports are not "idle"
        settle()
        idle_tree = descendants(eng.pid)
        idle_rss, idle_pss = sum(map(rss_kib, idle_tree)), sum(map(pss_kib, idle_tree))
        ids = [docker(env, "run", "-d", "busybox", "sleep", "600").strip() for _ in range(n)]
        try:
            settle()
            pids = [json.loads(docker(env, "inspect", "--format", "{{json .State.Pid}}", cid)) for cid in ids]
            monitors = [parent_pid(pid) for pid in pids]
            monitors = [m for m in monitors if m not in (0, 1, eng.pid)]
            tree = [p for p in descendants(eng.pid) if p not in pids and p not in monitors]
            daemon_rss, daemon_pss = sum(map(rss_kib, tree)), sum(map(pss_kib, tree))
            mon_rss, mon_pss = sum(map(rss_kib, monitors)), sum(map(pss_kib, monitors))
            native = sum(monitor_is_native(m) for m in monitors)
            ctr_rss, ctr_pss = sum(map(rss_kib, pids)), sum(map(pss_kib, pids))
        finally:
            docker(env, "rm", "-f", *ids)
    added_rss = (daemon_rss - idle_rss + mon_rss + ctr_rss) / n
    added_pss = (daemon_pss - idle_pss + mon_pss + ctr_pss) / n
    print(f"daemon processes: {len(idle_tree)} (the daemon and its helper processes)")
    print(f"daemon idle:          RSS {idle_rss / 1024:7.1f} MiB   PSS {idle_pss / 1024:7.1f} MiB")
    print(f"daemon with {n:2d} running: RSS {daemon_rss / 1024:7.1f} MiB   PSS {daemon_pss / 1024:7.1f} MiB")
    print(f"monitors found: {len(monitors)} of {n} (the parent of each container's process); "
          f"native: {native}")
    print(f"monitors total:       RSS {mon_rss / 1024:7.1f} MiB   PSS {mon_pss / 1024:7.1f} MiB")
    print(f"containers total:     RSS {ctr_rss / 1024:7.1f} MiB   PSS {ctr_pss / 1024:7.1f} MiB")
    print(
        f"added per container (daemon growth + monitor + process): RSS {added_rss / 1024:.2f} MiB, "
        f"PSS {added_pss / 1024:.2f} MiB"
    )
    total_pss = (daemon_pss + mon_pss + ctr_pss) / 1024
    print(
        f"total with {n} running (daemon + its helpers + monitors + containers): PSS {total_pss:.1f} MiB"
        + (f"  (issue 18 target <= 40 MB with 20: {'met' if total_pss * 1.048576 <= 40 else 'NOT met'})"
           if n == 20 else "")
    )
    if not peers.dockerd_installed():
        print("dockerd not installed")
        return 0
    d_idle_rss, d_idle_pss, d_added_rss, d_added_pss, shims = measure_dockerd(n)
    print(f"dockerd + containerd idle: RSS {d_idle_rss / 1024:7.1f} MiB   PSS {d_idle_pss / 1024:7.1f} MiB")
    print(f"dockerd added per container (daemons' growth + shim + process; {shims} new processes): "
          f"RSS {d_added_rss / 1024:.2f} MiB, PSS {d_added_pss / 1024:.2f} MiB")
    print(f"ratio ours/dockerd: idle RSS {idle_rss / d_idle_rss:.2f}, idle PSS {idle_pss / d_idle_pss:.2f}, "
          f"added RSS {added_rss / d_added_rss:.2f}, added PSS {added_pss / d_added_pss:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
