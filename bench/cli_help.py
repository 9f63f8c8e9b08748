"""Start-up cost of the CLI: `composer --help` (the import-light path every command starts on) against the
reference `docker compose --help` in the same run. Target: median under 0.150 s.

    python3 bench/cli_help.py [--runs N] [--record]     # --record appends to bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import engine_common  # noqa: F401  (first: it puts the repository on sys.path)

# isort: split
from engine_common import ROOT, machine

TARGET = 0.150


def median_seconds(argv: list[str], runs: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(argv, capture_output=True, check=True, env=env)  # warm the page cache
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True, env=env)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    from tests.support.reference import reference_binary

    ours = median_seconds([sys.executable, "-m", "composer.cli.main", "--help"], args.runs)
    ref = reference_binary()
    theirs = median_seconds([ref, "--help"], args.runs) if ref else None
    lines = [
        "# CLI start-up: --help (bench/cli_help.py)",
        "",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"Machine: {machine()}",
        f"Runs: {args.runs}, medians",
        "",
        "| tool | --help s |",
        "|---|---|",
        f"| composer | {ours:.3f} |",
        f"| docker compose v2 (reference binary) | {theirs:.3f} |" if theirs else "| reference | missing |",
        "",
        f"Target: composer --help < {TARGET:.3f} s: {ours:.3f} s ({'met' if ours < TARGET else 'NOT met'})"
        + (f"; ratio to the reference {ours / theirs:.2f}." if theirs else "."),
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.record:
        with open(ROOT / "bench" / "RESULTS.md", "a") as f:
            f.write("\n" + report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
