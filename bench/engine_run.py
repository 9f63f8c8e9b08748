"""Benchmark: `docker run --rm busybox true` with the real docker CLI against our engine (median of N runs),
compared with dockerd on the same machine when it is installed, or else with the figure recorded for this
machine in /work/shared/DESIGN.md ("Facts").

    python3 bench/engine_run.py [-n RUNS] [--warmup N]
"""

from __future__ import annotations

import argparse
import datetime
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import engine_common  # noqa: F401  (first: it puts the repository on sys.path for peers)

# isort: split
import peers
from engine_common import DOCKER, machine, private_engine, summary, timed

RECORDED_DOCKERD_S = 0.34  # DESIGN.md "Facts": docker run --rm busybox true against dockerd on this machine
COMMAND = ("run", "--rm", "busybox", "true")


@contextmanager
def private_dockerd() -> Iterator[dict[str, str]]:
    """A private dockerd (bench/peers.py) with busybox imported; yields the docker CLI's environment."""
    with peers.private_dockerd() as (env, _tmp, _daemon):
        yield env


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
    if not peers.dockerd_installed():
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
