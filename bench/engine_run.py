"""Benchmark: `docker run --rm busybox true` with the real docker CLI against our engine (median of N runs),
compared with dockerd on the same machine when it is installed, or else with the figure recorded for this
machine in /work/shared/DESIGN.md ("Facts").

    python3 bench/engine_run.py [-n RUNS] [--warmup N]
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine_common import DOCKER, machine, private_engine, summary, timed, unmount_under

from tests.support import busybox

RECORDED_DOCKERD_S = 0.34  # DESIGN.md "Facts": docker run --rm busybox true against dockerd on this machine
COMMAND = ("run", "--rm", "busybox", "true")


@contextmanager
def private_dockerd() -> Iterator[dict[str, str]]:
    """A dockerd on a private socket and state dirs (no bridge, no iptables), busybox imported."""
    with tempfile.TemporaryDirectory(prefix="bench-dockerd-", dir="/tmp") as tmp:
        sock = Path(tmp) / "docker.sock"
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env.update({"DOCKER_HOST": f"unix://{sock}", "DOCKER_CONFIG": tmp})
        daemon = subprocess.Popen(
            [
                "dockerd",
                "-H",
                f"unix://{sock}",
                "--data-root",
                f"{tmp}/data",
                "--exec-root",
                f"{tmp}/exec",
                "--pidfile",
                f"{tmp}/docker.pid",
                "--bridge",
                "none",
                "--iptables=false",
                "--ip6tables=false",
                "--exec-opt",
                "native.cgroupdriver=cgroupfs",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while subprocess.run([DOCKER, "version"], env=env, capture_output=True).returncode != 0:
                if daemon.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("dockerd did not come up")
                time.sleep(0.2)
            subprocess.run(
                [DOCKER, "import", "-", "busybox:latest"],
                input=busybox.rootfs_tar_bytes(),
                env=env,
                capture_output=True,
                check=True,
            )
            yield env
        finally:
            daemon.terminate()
            try:
                daemon.wait(30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
            unmount_under(Path(tmp))


def measure(env: dict[str, str], runs: int, warmup: int, extra: tuple[str, ...] = ()) -> dict[str, float]:
    argv = [DOCKER, *COMMAND[:2], *extra, *COMMAND[2:]]
    for _ in range(warmup):
        timed(argv, env)
    return summary([timed(argv, env) for _ in range(runs)])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-n", "--runs", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    args = p.parse_args()
    if args.runs < 1:
        p.error("--runs must be at least 1")
    print(f"date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    print(f"command: docker {' '.join(COMMAND)}  ({args.runs} runs after {args.warmup} warm-up)")
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as cfg, private_engine() as eng:
        ours = measure(eng.env(Path(cfg)), args.runs, args.warmup)
        # the same without a network endpoint: separates the runtime's start from the network setup
        no_net = measure(eng.env(Path(cfg)), args.runs, args.warmup, ("--network", "none"))
    for label, r in (("composer-engine", ours), ("composer-engine --network none", no_net)):
        print(f"{label}: median {r['median']:.3f} s  "
              f"(min {r['min']:.3f}, p90 {r['p90']:.3f}, max {r['max']:.3f})")
    if shutil.which("dockerd") is None:
        print("dockerd not installed")
        ref = RECORDED_DOCKERD_S
        label = "dockerd (figure recorded for this machine in DESIGN.md, not measured now)"
    else:
        with tempfile.TemporaryDirectory(prefix="bench-cli-") as cfg, private_dockerd() as env:
            env["DOCKER_CONFIG"] = cfg
            theirs = measure(env, args.runs, args.warmup)
        ref, label = theirs["median"], "dockerd (measured now, median)"
    print(f"{label}: {ref:.3f} s")
    print(f"ratio composer-engine / dockerd: {ours['median'] / ref:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
