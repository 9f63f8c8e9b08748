"""Benchmark: what --userns-remap costs a start. `docker run --rm --network none busybox true` with the real
docker CLI (median of N runs) against our engine with the built-in runtime and with runc, each with and
without --userns-remap, in the same run; the ratios are the overhead of the user namespace (the
idmapped layer mounts and, for the built-in runtime, its stage-1 fork).

A throwaway user with a /etc/subuid and /etc/subgid range is made for the run and removed afterwards.

    python3 bench/userns_run.py [-n RUNS] [--warmup N]
"""

from __future__ import annotations

import argparse
import datetime
import secrets
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import engine_common  # noqa: F401  (first: it puts the repository on sys.path)

# isort: split
from engine_common import DOCKER, machine, summary, timed

from tests.support.engine import running_engine

COMMAND = ("run", "--rm", "--network", "none", "busybox", "true")
SUBID_FILES = (Path("/etc/subuid"), Path("/etc/subgid"))


@contextmanager
def remap_user() -> Iterator[str]:
    """A user with subordinate ranges (Debian's useradd may add them itself; else we do)."""
    user = "bench" + secrets.token_hex(3)
    subprocess.run(["useradd", "-M", "-N", "-s", "/bin/false", user], check=True, capture_output=True)
    try:
        for path in SUBID_FILES:
            text = path.read_text() if path.exists() else ""
            if not any(line.startswith(f"{user}:") for line in text.splitlines()):
                with open(path, "a") as f:
                    f.write(f"{user}:700000:65536\n")
        yield user
    finally:
        for path in SUBID_FILES:
            if path.exists():
                lines = path.read_text().splitlines(keepends=True)
                path.write_text("".join(ln for ln in lines if not ln.startswith(f"{user}:")))
        subprocess.run(["userdel", user], capture_output=True)


def measure(extra_args: tuple[str, ...], runs: int, warmup: int) -> dict[str, float]:
    with (
        tempfile.TemporaryDirectory(prefix="bench-userns-") as cfg,
        running_engine(extra_args=extra_args) as eng,
    ):
        eng.base.chmod(0o711)  # the remapped root passes through the engine's temp dir
        env = {"DOCKER_HOST": eng.docker_host, "DOCKER_CONFIG": cfg, "DOCKER_CLI_HINTS": "false"}
        argv = [DOCKER, *COMMAND]
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
    results: dict[str, dict[str, float]] = {}
    with remap_user() as user:
        for runtime, runtime_args in (("built-in", ()), ("runc", ("--default-runtime", "runc"))):
            results[runtime] = measure(runtime_args, args.runs, args.warmup)
            results[f"{runtime} --userns-remap"] = measure(("--userns-remap", user, *runtime_args),
                                                           args.runs, args.warmup)
    for label, r in results.items():
        print(f"{label}: median {r['median']:.3f} s  "
              f"(min {r['min']:.3f}, p90 {r['p90']:.3f}, max {r['max']:.3f})")
    for runtime in ("built-in", "runc"):
        ratio = results[f"{runtime} --userns-remap"]["median"] / results[runtime]["median"]
        print(f"{runtime}: userns-remap / plain = {ratio:.2f}")
    ratio = results["built-in --userns-remap"]["median"] / results["runc --userns-remap"]["median"]
    print(f"userns-remap: built-in / runc = {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
