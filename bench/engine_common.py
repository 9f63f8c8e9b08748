"""Shared parts of the engine benchmarks: a private engine with the busybox image, a docker CLI runner,
and process memory readings from /proc."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as `python3 bench/engine_run.py` from anywhere
    sys.path.insert(0, str(ROOT))

DOCKER = "/usr/local/bin/docker"


@dataclass(frozen=True)
class Engine:
    socket: Path
    exec_root: Path
    pid: int

    def env(self, config_dir: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env.update(
            {
                "DOCKER_HOST": f"unix://{self.socket}",
                "DOCKER_CONFIG": str(config_dir),
                "DOCKER_CLI_HINTS": "false",
            }
        )
        return env


@contextmanager
def private_engine(command: tuple[str, ...] = ()) -> Iterator[Engine]:
    """Our engine on a private socket and state dirs, busybox:latest imported; everything removed after.
    `command`: an installed daemon (`installed_venv(...) / "bin" / "composer-engine"`); () is this
    checkout's `python3 -m engine.daemon` in this machine's interpreter."""
    from tests.support.engine import running_engine  # start, wait for /_ping, import busybox

    with running_engine(command=command) as eng:
        assert eng.proc is not None
        yield Engine(socket=eng.socket_path, exec_root=eng.exec_root, pid=eng.proc.pid)


def docker(env: dict[str, str], *args: str, check: bool = True) -> str:
    proc = subprocess.run([DOCKER, *args], capture_output=True, text=True, env=env, timeout=120)
    if check and proc.returncode != 0:
        raise SystemExit(f"docker {' '.join(args)} failed (rc={proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def timed(argv: Sequence[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(list(argv), capture_output=True, env=env, timeout=120)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed (rc={proc.returncode}): {proc.stderr.decode().strip()}")
    return elapsed


def summary(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": statistics.median(ordered),
        "min": ordered[0],
        "max": ordered[-1],
        "p90": ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))],
    }


def unmount_under(base: Path) -> None:
    """Lazily unmount everything mounted at or below `base`, deepest first."""
    prefix = str(base.resolve())
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4].replace("\\040", " ") for line in f]
    below = [p for p in points if p == prefix or p.startswith(prefix + "/")]
    for point in sorted(below, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def _kib_field(path: str, key: str) -> int:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0
    return 0


def rss_kib(pid: int) -> int:
    return _kib_field(f"/proc/{pid}/status", "VmRSS")


def pss_kib(pid: int) -> int:
    return _kib_field(f"/proc/{pid}/smaps_rollup", "Pss")


def parent_pid(pid: int) -> int:
    return _kib_field(f"/proc/{pid}/status", "PPid")


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (the daemon and its helpers, e.g. the runtime's zygote)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            children.setdefault(parent_pid(int(entry)), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def machine() -> str:
    cpu = "unknown cpu"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem_gib = _kib_field("/proc/meminfo", "MemTotal") / (1 << 20)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())  # the machine is shared: say how busy it was
    return (f"{platform.node()}: {cpu}, {os.cpu_count()} cpus, {mem_gib:.1f} GiB, "
            f"Linux {platform.release()}, load average {load}")


def installed_venv(where: Path) -> Path:
    """A new venv in `where` with composer installed from a wheel of this checkout and its dependencies
    (what `pipx install` makes): composer and composer-engine as users run them. This machine's own
    interpreter carries `.pth` hooks in its site-packages (an editable install's finder, a CA-bundle hook)
    that cost every process ~22 ms and ~4 MiB before its first line; a venv has none of them."""
    wheels, venv = where / "wheels", where / "venv"
    print("  building and installing composer's wheel into a private venv...", file=sys.stderr)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", wheels, ROOT],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    (wheel,) = wheels.glob("composer-*.whl")
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)]
    subprocess.run(pip, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return venv
