"""`up -d` of a 20-service project (local busybox image), cold; a no-change `up -d`; and `down`.

Runs composer and, side by side in the same run, the reference Docker Compose v2 binary against the same
private engine; then, when the peers are installed (bench/peers.py), the reference binary against a private
dockerd and podman-compose against podman, same project, same run. Without dockerd the figures recorded
for this machine in DESIGN.md (cold up 4.0 s, no-change up 0.09 s) stand in.

    python3 bench/compose_up_20.py [--runs N] [--record]     # --record appends to bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import engine_common  # noqa: F401  (first: it puts the repository on sys.path for peers)

# isort: split
import peers
from engine_common import ROOT, machine, private_engine

SERVICES = 20
DOCKERD_RECORDED = {"cold up -d": 4.0, "no-change up -d": 0.09}


def reference_binary() -> str | None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.support.reference import reference_binary as find

    return find()


def write_project(where: Path) -> None:
    lines = ["name: bench20", "services:"]
    for i in range(SERVICES):
        lines += [f"  s{i:02d}:", "    image: busybox:latest", "    command: sleep 100000", "    init: true"]
    (where / "compose.yaml").write_text("\n".join(lines) + "\n")


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: rc={proc.returncode}: {proc.stderr.strip()[-300:]}")
    return elapsed


def measure(tool: list[str], cwd: Path, env: dict[str, str], runs: int) -> dict[str, float]:
    cold, nochange, down = [], [], []
    for _ in range(runs):
        cold.append(run([*tool, "up", "-d"], cwd, env))
        nochange.append(run([*tool, "up", "-d"], cwd, env))
        down.append(run([*tool, "down", "-t", "10"], cwd, env))
    return {
        "cold up -d": statistics.median(cold),
        "no-change up -d": statistics.median(nochange),
        "down": statistics.median(down),
    }


DOCKERD_ROW = "docker compose v2 vs dockerd 20.10 (same run)"
PODMAN_ROW = "podman-compose vs podman 4.3 (same run)"


def measure_peers(ref: str | None, runs: int) -> dict[str, dict[str, float] | str]:
    """The same project under the peers: Compose v2 against a private dockerd, podman-compose on podman."""
    out: dict[str, dict[str, float] | str] = {}
    if ref and peers.dockerd_installed():
        with (
            peers.private_dockerd() as (env, _tmp, _daemon),
            tempfile.TemporaryDirectory(prefix="bench20d-") as t,
        ):
            write_project(Path(t))
            env = {k: v for k, v in env.items() if not k.startswith("COMPOSE_")}
            try:
                out[DOCKERD_ROW] = measure([ref], Path(t), env, runs)
            except RuntimeError as exc:
                out[DOCKERD_ROW] = f"failed: {exc}"
    else:
        print("dockerd not installed")
    if peers.podman_installed() and shutil.which("podman-compose"):
        with peers.private_podman() as env, tempfile.TemporaryDirectory(prefix="bench20p-") as t:
            write_project(Path(t))
            try:
                out[PODMAN_ROW] = measure(["podman-compose"], Path(t), env, runs)
            except RuntimeError as exc:
                out[PODMAN_ROW] = f"failed: {exc}"
    else:
        print("podman / podman-compose not installed")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    tools: dict[str, list[str]] = {"composer": [sys.executable, "-m", "composer.cli.main"]}
    ref = reference_binary()
    if ref:
        tools["docker compose v2 (reference binary)"] = [ref]
    results: dict[str, dict[str, float] | str] = {}
    with private_engine() as eng, tempfile.TemporaryDirectory(prefix="bench20-") as tmp:
        cwd = Path(tmp)
        write_project(cwd)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "COMPOSE_"))}
        env.update(
            {"DOCKER_HOST": f"unix://{eng.socket}", "DOCKER_CONFIG": str(cwd), "PYTHONPATH": str(ROOT)}
        )
        for name, tool in tools.items():
            try:
                results[name] = measure(tool, cwd, env, args.runs)
            except RuntimeError as exc:
                results[name] = f"failed: {exc}"
                subprocess.run([*tools["composer"], "down", "-t", "0"], cwd=cwd, env=env, capture_output=True)
    results.update(measure_peers(ref, args.runs))
    report = render(results, args.runs)
    print(report)
    if args.record:
        with open(ROOT / "bench" / "RESULTS.md", "a") as f:
            f.write("\n" + report)
    return 0


def render(results: dict[str, dict[str, float] | str], runs: int) -> str:
    out = [
        f"# Compose benchmark: {SERVICES} services from a local image (bench/compose_up_20.py)",
        "",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"Machine: {machine()}",
        f"Runs: {runs} cycles of cold `up -d`, no-change `up -d`, `down` (-t 10); medians; the first two "
        "rows against our engine, the peers' rows against the peer named (dockerd with --iptables=false, see "
        "bench/peers.py)",
        "",
        "| tool | cold up -d s | no-change up -d s | down s |",
        "|---|---|---|---|",
    ]
    for name, r in results.items():
        if isinstance(r, str):
            out.append(f"| {name} | {r[:120]} | | |")
        else:
            out.append(f"| {name} | {r['cold up -d']:.2f} | {r['no-change up -d']:.2f} | {r['down']:.2f} |")
    peer = results.get(DOCKERD_ROW)
    if not isinstance(peer, dict):
        peer = {**DOCKERD_RECORDED, "down": float("nan")}
        out.append(
            f"| docker compose v2 vs dockerd (recorded, DESIGN.md) | {DOCKERD_RECORDED['cold up -d']:.2f} | "
            f"{DOCKERD_RECORDED['no-change up -d']:.2f} | |"
        )
    ours = results.get("composer")
    if isinstance(ours, dict):
        up, down = ours["cold up -d"] / peer["cold up -d"], ours["down"] / peer["down"]
        out += [
            "",
            f"Targets: cold up <= 1/3 of Compose v2 vs dockerd: {up:.2f}x "
            f"({'met' if up <= 1 / 3 else 'NOT met'}); down <= 1/3: {down:.2f}x "
            f"({'met' if down <= 1 / 3 else 'NOT met'}); no-change up < 0.5 s: "
            f"{ours['no-change up -d']:.2f} s ({'met' if ours['no-change up -d'] < 0.5 else 'NOT met'}).",
        ]
        pod = results.get(PODMAN_ROW)
        if isinstance(pod, dict):
            ahead = all(ours[k] < pod[k] for k in ("cold up -d", "down"))
            out.append(
                f"Ahead of podman-compose (cold up and down): {'met' if ahead else 'NOT met'} "
                f"({ours['cold up -d'] / pod['cold up -d']:.2f}x up, {ours['down'] / pod['down']:.2f}x down)."
            )
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
