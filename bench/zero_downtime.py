"""Requests dropped while `up` rolls out a new version of a two-replica web service (busybox httpd with a
healthcheck and `deploy.update_config.order: start-first`), a client hammering its published port over
loopback the whole time (sequential GETs, a new connection each, bounded).

Three runs of the same scenario in the same session:
  - composer on composer-engine (start-first: the engine shares the port between old and new, switches it
    once the new container is healthy and drains the old one),
  - the reference Docker Compose v2 on composer-engine (Compose recreates stop-first; our engine lets the
    two replicas share the port as it does for composer),
  - the reference Docker Compose v2 on a private dockerd 20.10. dockerd refuses two containers on one host
    port, so there the replicas publish a range (P-P+1) and the client hammers P (replica 1's port).

    python3 bench/zero_downtime.py [--runs N] [--record]     # --record appends to bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import engine_common  # noqa: F401  (first: it puts the repository on sys.path)

# isort: split
import peers
from engine_common import ROOT, machine, private_engine

from tests.support.hammer import Hammer
from tests.support.reference import reference_binary
from tests.support.registry import free_port

LIMIT = 4000  # requests at most per rollout
PROJECT = """name: zdtbench
services:
  web:
    image: busybox:latest
    init: true
    command: [sh, -c, 'mkdir -p /www && echo "$$VERSION" > /www/index.html && exec httpd -f -p 80 -h /www']
    environment: {{VERSION: "{version}"}}
    ports: ["127.0.0.1:{ports}:80"]
    healthcheck:
      test: [CMD, wget, -q, -O, /dev/null, "http://127.0.0.1/"]
      interval: 300ms
      timeout: 2s
      retries: 3
    deploy:
      replicas: 2
      update_config: {{order: start-first, parallelism: 1, delay: 200ms}}
"""


@dataclass
class Outcome:
    sent: int
    failed: int
    up_seconds: float
    new_version_answers: bool
    first_error: str


def _write(where: Path, version: str, ports: str) -> None:
    (where / "compose.yaml").write_text(PROJECT.format(version=version, ports=ports))


def _get(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
            return str(resp.read().decode().strip())
    except OSError as exc:
        return f"error: {exc}"


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def rollout(tool: list[str], env: dict[str, str], ranged: bool) -> Outcome:
    port = free_port()
    ports = f"{port}-{port + 1}" if ranged else str(port)
    with tempfile.TemporaryDirectory(prefix="zdtb-") as t:
        cwd = Path(t)
        _write(cwd, "v1", ports)
        up = _run([*tool, "up", "-d", "--wait"], cwd, env)
        if up.returncode != 0:
            raise RuntimeError(f"first up failed: {up.stderr.strip()[-300:]}")
        try:
            _write(cwd, "v2", ports)
            with Hammer(port, limit=LIMIT) as load:
                time.sleep(0.3)
                start = time.perf_counter()
                up = _run([*tool, "up", "-d"], cwd, env)
                took = time.perf_counter() - start
                if up.returncode == 0:  # the new version settles (Compose does not wait for health)
                    deadline = time.monotonic() + 30
                    while _get(port) != "v2" and time.monotonic() < deadline:
                        time.sleep(0.1)
                time.sleep(0.3)
            if up.returncode != 0:
                raise RuntimeError(f"rollout up failed: {up.stderr.strip()[-300:]}")
            return Outcome(
                load.sent, len(load.failures), took, _get(port) == "v2", (load.failures or [""])[0][:80]
            )
        finally:
            _run([*tool, "down", "-t", "2"], cwd, env)


def measure(name: str, tool: list[str], env: dict[str, str], runs: int, ranged: bool) -> list[Outcome] | str:
    try:
        return [rollout(tool, env, ranged) for _ in range(runs)]
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return f"failed: {exc}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    ref = reference_binary()
    results: dict[str, list[Outcome] | str] = {}
    with private_engine() as eng, tempfile.TemporaryDirectory(prefix="zdtb-cfg-") as cfg:
        env = {k: v for k, v in eng.env(Path(cfg)).items() if not k.startswith("COMPOSE_")}
        env["PYTHONPATH"] = str(ROOT)
        composer = [sys.executable, "-m", "composer.cli.main"]
        results["composer, start-first, on composer-engine"] = measure(
            "composer", composer, env, args.runs, False
        )
        if ref:
            results["docker compose v2 on composer-engine"] = measure(
                "reference", [ref], env, args.runs, False
            )
    if ref and peers.dockerd_installed():
        with peers.private_dockerd() as (denv, _tmp, _daemon):
            denv = {k: v for k, v in denv.items() if not k.startswith("COMPOSE_")}
            results["docker compose v2 on dockerd 20.10 (port range, see above)"] = measure(
                "dockerd", [ref], denv, args.runs, True
            )
    report = render(results, args.runs)
    print(report)
    if args.record:
        with open(ROOT / "bench" / "RESULTS.md", "a") as f:
            f.write("\n" + report)
    return 0


def render(results: dict[str, list[Outcome] | str], runs: int) -> str:
    out = [
        "## Zero-downtime rollout: failed requests during `up` (bench/zero_downtime.py)",
        "",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"Machine: {machine()}",
        "Scenario: two-replica busybox httpd with a healthcheck and update_config.order start-first; "
        "`up -d` rolls out a changed environment while one client sends sequential GETs (a new connection "
        f"each, at most {LIMIT}) to the published port over loopback. {runs} rollouts per row.",
        "",
        "| tool and engine | requests sent | failed | `up` s | new version answers after |",
        "|---|---|---|---|---|",
    ]
    for name, r in results.items():
        if isinstance(r, str):
            out.append(f"| {name} | {r[:140]} | | | |")
            continue
        sent = " / ".join(str(o.sent) for o in r)
        failed = " / ".join(str(o.failed) for o in r)
        took = " / ".join(f"{o.up_seconds:.1f}" for o in r)
        ok = "yes" if all(o.new_version_answers for o in r) else "no"
        out.append(f"| {name} | {sent} | **{failed}** | {took} | {ok} |")
        errors = {o.first_error for o in r if o.first_error}
        if errors:
            out.append(f"| ↳ first error | {'; '.join(sorted(errors))} | | | |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
