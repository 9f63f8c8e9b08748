"""Benchmark: pull of a multi-layer image from a local docker-registry (127.0.0.1) into our engine with the
real docker CLI, against `skopeo copy` of the same image to a local directory, same run, median of N.
Each of our pulls starts from an engine without the image's layers (the image is removed in between).

    python3 bench/pull_local.py [-n RUNS] [--layers N] [--mib MiB-per-layer] [--record]
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from engine_common import ROOT, docker, machine, private_engine, summary

from tests.support.registry import running_registry


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--runs", type=int, default=5)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--mib", type=int, default=8)
    ap.add_argument("--record", action="store_true", help="append the result to bench/RESULTS.md")
    args = ap.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="bench-pull-", dir="/tmp") as tmp,
        running_registry(Path(tmp) / "registry") as reg,
        private_engine() as eng,
    ):
        env = eng.env(Path(tmp))
        env["DOCKER_BUILDKIT"] = "0"
        ctx = Path(tmp) / "ctx"
        ctx.mkdir()
        steps = "".join(
            f"RUN head -c {args.mib * 1024 * 1024} /dev/urandom > /blob{i}\n" for i in range(args.layers)
        )
        (ctx / "Dockerfile").write_text("FROM busybox\n" + steps)
        ref = f"{reg.host}/bench/pull:latest"
        docker(env, "build", "-q", "-t", ref, str(ctx))
        docker(env, "push", ref)
        docker(env, "rmi", ref)
        ours: list[float] = []
        peer: list[float] = []
        for i in range(args.runs):
            start = time.perf_counter()
            docker(env, "pull", ref)
            ours.append(time.perf_counter() - start)
            docker(env, "rmi", ref)
            dest = Path(tmp) / f"skopeo-{i}"
            start = time.perf_counter()
            subprocess.run(
                ["skopeo", "copy", "--src-tls-verify=false", f"docker://{ref}", f"dir:{dest}"],
                check=True,
                capture_output=True,
            )
            peer.append(time.perf_counter() - start)
            shutil.rmtree(dest)
    a, b = summary(ours), summary(peer)
    lines = [
        "",
        f"# Pull benchmark: {args.layers} layers x {args.mib} MiB (random, gzip) from a local registry",
        "",
        "Produced by `python3 bench/pull_local.py --record`.",
        "",
        f"Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"Machine: {machine()}",
        f"Runs: {args.runs}, alternating; our pulls start with none of the image's layers in the store",
        "",
        "| what | median s | min s | max s |",
        "|---|---|---|---|",
        f"| docker pull via our engine (download, verify, unpack) | {a['median']:.3f} | {a['min']:.3f} | "
        f"{a['max']:.3f} |",
        f"| skopeo copy to dir: (download, verify) | {b['median']:.3f} | {b['min']:.3f} | {b['max']:.3f} |",
        "",
        f"ratio ours/skopeo {a['median'] / b['median']:.2f}x "
        f"(target <= 1.0: {'met' if a['median'] <= b['median'] else 'NOT met'}).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.record:
        with open(ROOT / "bench" / "RESULTS.md", "a") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
