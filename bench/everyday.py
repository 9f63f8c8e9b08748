"""The commands people type dozens of times an hour, and how `up`/`down` grow with the project (issue 18).

composer on a private engine of ours against the reference Docker Compose v2 binary on a private dockerd
(bench/peers.py), the same generated project on each, in the same run. Commands are run interleaved
(composer, then Compose v2, then the next command...) round after round, and medians are compared: the
machine is shared, so a burst of someone else's load hits both columns alike.

    python3 bench/everyday.py [--rounds N]                    # no-change up, ps, ls, config -q, port, logs,
                                                              # --help, version; 20 services
    python3 bench/everyday.py --growth 20,100,200 [--cycles N] # up -d / down per size, GET /containers/json
    ... --record                                              # append the tables to bench/RESULTS.md

composer runs as users run it: a wheel built from this checkout, installed with its dependencies into a
fresh virtual environment (what `pipx install` makes), started through the console script pip wrote. The
everyday table also shows this checkout run in place (`python3 -m composer.cli.main` in this machine's own
interpreter, whose site-packages carries an editable install's finder and a CA-bundle hook in `.pth` files:
~22 ms of imports before composer's first line), and each interpreter's own start (`-c pass`).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import engine_common  # noqa: F401  (first: it puts the repository on sys.path for peers)

# isort: split
import peers
from engine_common import ROOT, installed_venv, machine, private_engine

DEV = [sys.executable, "-m", "composer.cli.main"]
# (label, argv after the tool, target ratio to Compose v2)
EVERYDAY: list[tuple[str, list[str], float]] = [
    ("no-change up -d (20 services)", ["up", "-d"], 1.0),
    ("ps", ["ps"], 1.0),
    ("ls", ["ls"], 1.0),
    ("config -q", ["config", "-q"], 1.0),
    ("port s00 80", ["port", "s00", "80"], 1.0),
    ("logs --tail 10 s00", ["logs", "--tail", "10", "s00"], 1.0),
    ("--help", ["--help"], 1.5),
    ("version", ["version"], 1.5),
]


@dataclass(frozen=True)
class Side:
    """One tool on one engine, with the project directory it works in."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    socket: Path

    def run(self, args: Sequence[str], *, timeout: float = 900) -> float:
        return self.run_timed(args, timeout=timeout)[0]

    def run_timed(self, args: Sequence[str], *, timeout: float = 900) -> tuple[float, float]:
        """(wall seconds, CPU seconds of the process: user + system). The CPU figure moves far less with
        other sessions' load than the wall time, so it is reported beside it."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(
            [*self.argv, *args], cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise RuntimeError(f"{self.name}: {' '.join(args)}: rc={proc.returncode}: {proc.stderr[-300:]}")
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        return elapsed, cpu


def write_project(where: Path, services: int, group: int = 10) -> None:
    """`services` busybox services in dependency groups of `group`: each service depends on one of the
    previous group (so 200 services start in 20 levels); s00 publishes port 80 on an ephemeral host port and
    every service prints 50 lines before it sleeps."""
    lines = [f"name: bench{services}", "services:"]
    for i in range(services):
        lines += [
            f"  s{i:02d}:",
            "    image: busybox:latest",
            '    command: ["sh", "-c", "seq 1 50; exec sleep 100000"]',
            "    init: true",
        ]
        if i == 0:
            lines += ["    ports:", '      - "80"']
        if i >= group:
            lines += ["    depends_on:", f"      - s{i - group:02d}"]
    (where / "compose.yaml").write_text("\n".join(lines) + "\n")


def reference_binary() -> str | None:
    from tests.support.reference import reference_binary as find

    return find()


@contextmanager
def sides(services: int) -> Iterator[tuple[Side, Side, Side]]:
    """composer (installed) on our engine, Compose v2 on dockerd, each in its own copy of the project, and
    this checkout's composer run in place (same engine and project as the installed one)."""
    ref = reference_binary()
    if not ref or not peers.dockerd_installed():
        raise SystemExit("needs the reference Compose v2 binary and dockerd (see bench/peers.py)")
    with ExitStack() as stack:
        eng = stack.enter_context(private_engine())
        ours_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-ed-")))
        denv, _tmp, _daemon = stack.enter_context(peers.private_dockerd())
        theirs_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-edd-")))
        for d in (ours_dir, theirs_dir):
            write_project(d, services)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "COMPOSE_", "PYTHON"))}
        env.update(
            {
                "DOCKER_HOST": f"unix://{eng.socket}",
                "DOCKER_CONFIG": str(ours_dir),
                "XDG_CACHE_HOME": stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-cache-")),
            }
        )
        venv_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-venv-")))
        script = installed_venv(venv_dir) / "bin" / "composer"
        ours = Side("composer", [str(script)], env, ours_dir, eng.socket)
        # In place, compiled bytecode as an install has it: this sandbox sets PYTHONDONTWRITEBYTECODE, which
        # would compile every module on every run (~0.13 s), so the cache goes to a private prefix instead of
        # the checkout, filled by the first (untimed) run.
        # Its own cache directory too: a project cache entry names the loader's files that wrote it, so two
        # copies of composer sharing one would replace each other's entries on every run.
        pycache = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-pyc-"))
        dev_env = {
            **env,
            "PYTHONPATH": str(ROOT),
            "PYTHONPYCACHEPREFIX": pycache,
            "XDG_CACHE_HOME": stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-cache-")),
        }
        dev = Side("composer (in place)", DEV, dev_env, ours_dir, eng.socket)
        denv = {k: v for k, v in denv.items() if not k.startswith("COMPOSE_")}
        theirs = Side("compose v2 (dockerd)", [ref], denv, theirs_dir, Path(denv["DOCKER_HOST"][7:]))
        try:
            yield ours, theirs, dev
        finally:
            for side in (ours, theirs):
                with _quiet():
                    side.run(["down", "-t", "0"])


@contextmanager
def _quiet() -> Iterator[None]:
    try:
        yield
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"cleanup: {exc}", file=sys.stderr)


def interleaved(
    rounds: int, cases: Sequence[tuple[str, list[Callable[[], tuple[float, float]]]]]
) -> dict[str, list[tuple[float, float]]]:
    """Medians (wall, CPU) per case and runner; each round runs every case once per runner, rotating who
    goes first."""
    samples: dict[str, list[list[tuple[float, float]]]] = {
        label: [[] for _ in runners] for label, runners in cases
    }
    for r in range(rounds):
        for label, runners in cases:
            order = list(range(len(runners)))
            order = order[r % len(order) :] + order[: r % len(order)]
            for i in order:
                samples[label][i].append(runners[i]())
    return {
        label: [(statistics.median(w for w, _ in s), statistics.median(c for _, c in s)) for s in per]
        for label, per in samples.items()
    }


def python_floor(python: Path | str, env: dict[str, str], runs: int = 15) -> float:
    """The median start of an interpreter doing nothing (`-c pass`), site and its .pth files included."""

    def t() -> float:
        start = time.perf_counter()
        subprocess.run([python, "-c", "pass"], capture_output=True, check=True, env=env)
        return time.perf_counter() - start

    return statistics.median(t() for _ in range(runs))


def everyday(rounds: int) -> str:
    load_before = os.getloadavg()
    with sides(20) as (ours, theirs, dev):
        ours.run(["up", "-d"])
        theirs.run(["up", "-d"])
        cases = [(label, [_runner(s, args) for s in (ours, theirs, dev)]) for label, args, _ in EVERYDAY]
        for _label, runners in cases:
            for warm_up in runners:
                warm_up()
        medians = interleaved(rounds, cases)
        floor = python_floor(Path(ours.argv[0]).parent / "python", ours.env)
        floor_dev = python_floor(sys.executable, dev.env)
    out = [
        "## Everyday commands: composer vs Compose v2 on dockerd (bench/everyday.py)",
        "",
        f"Date: {_now()}",
        f"Machine: {machine()} (load at start {' '.join(f'{x:.2f}' for x in load_before)})",
        f"Rounds: {rounds}, interleaved; medians. 20-service project (busybox, init, s00 publishes 80).",
        "composer: a wheel of this checkout installed in a new venv, its console script (judged); in place: "
        "`python3 -m composer.cli.main` from the checkout in this machine's interpreter.",
        f"Interpreter start (`-c pass`): the venv's {floor * 1000:.1f} ms, this machine's "
        f"{floor_dev * 1000:.1f} ms (its site-packages' .pth files: an editable install's finder, a "
        "CA-bundle hook).",
        "",
        "CPU columns: user + system time of the process (Compose v2's Go runtime included), medians.",
        "",
        "| command | composer s | Compose v2 s | ratio | target | met? | in place s | ratio in place "
        "| CPU composer / Compose v2 / in place s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, _args, target in EVERYDAY:
        (a, a_cpu), (b, b_cpu), (c, c_cpu) = medians[label]
        ratio = a / b
        out.append(
            f"| {label} | {a:.3f} | {b:.3f} | {ratio:.2f} | <= {target:.1f} | "
            f"{'met' if ratio <= target else 'NOT met'} | {c:.3f} | {c / b:.2f} "
            f"| {a_cpu:.3f} / {b_cpu:.3f} / {c_cpu:.3f} |"
        )
    return "\n".join(out) + "\n"


def _runner(side: Side, args: list[str]) -> Callable[[], tuple[float, float]]:
    return lambda: side.run_timed(args)


# ---- growth ----


def engine_list_ms(sock: Path, runs: int = 21) -> float:
    """Median time of GET /containers/json (running ones, as `docker ps`) over one keep-alive connection."""

    class Conn(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(str(sock))

    conn = Conn("localhost", timeout=60)
    samples = []
    count = 0
    try:
        for _ in range(runs):
            start = time.perf_counter()
            conn.request("GET", "/containers/json")
            reply = conn.getresponse()
            body = reply.read()
            samples.append(time.perf_counter() - start)
            count = len(json.loads(body))
    finally:
        conn.close()
    print(f"  GET /containers/json on {sock.name}: {count} containers", file=sys.stderr)
    return statistics.median(samples) * 1000


def _down(side: Side, notes: list[str]) -> float:
    """`down -t 10`. dockerd 20.10 sometimes refuses the network removal right after many containers went
    ("has active endpoints"); that `down` has removed every container by then, so its time stands (the
    network removal it missed is ~10 ms), the network is removed untimed, and the report says so."""
    start = time.perf_counter()
    try:
        return side.run(["down", "-t", "10"])
    except RuntimeError as exc:
        if "active endpoints" not in str(exc):
            raise
        elapsed = time.perf_counter() - start
    notes.append(side.name)
    for _ in range(20):
        time.sleep(0.5)
        try:
            side.run(["down", "-t", "10"])
            break
        except RuntimeError as exc:
            if "active endpoints" not in str(exc):
                raise
    return elapsed


def growth(sizes: Sequence[int], cycles: int) -> str:
    rows: list[tuple[int, float, float, float, float, float, float]] = []
    notes: list[str] = []
    load_before = os.getloadavg()
    for n in sizes:
        with sides(n) as (ours, theirs, _dev):
            ups: tuple[list[float], list[float]] = ([], [])
            downs: tuple[list[float], list[float]] = ([], [])
            list_ms = (float("nan"), float("nan"))
            for c in range(cycles):
                order = [(0, ours), (1, theirs)] if c % 2 == 0 else [(1, theirs), (0, ours)]
                for i, side in order:
                    ups[i].append(side.run(["up", "-d"]))
                if c == 0:
                    list_ms = (engine_list_ms(ours.socket), engine_list_ms(theirs.socket))
                for i, side in order:
                    downs[i].append(_down(side, notes))
            rows.append(
                (
                    n,
                    statistics.median(ups[0]),
                    statistics.median(ups[1]),
                    statistics.median(downs[0]),
                    statistics.median(downs[1]),
                    *list_ms,
                )
            )
            print(f"  {n} services done: {rows[-1]}", file=sys.stderr)
    out = [
        "## Growth: cold `up -d` and `down` by project size (bench/everyday.py --growth)",
        "",
        f"Date: {_now()}",
        f"Machine: {machine()} (load at start {' '.join(f'{x:.2f}' for x in load_before)})",
        f"Cycles: {cycles} per size (up -d, then down -t 10), the two sides alternating first; medians. "
        "Services in dependency groups of 10 (each depends on one service of the previous group).",
        "",
        "| services | composer up s | Compose v2 up s | ratio | composer down s | Compose v2 down s | ratio "
        "| GET /containers/json ms (ours / dockerd) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n, ou, tu, od, td, lo, lt in rows:
        out.append(
            f"| {n} | {ou:.2f} | {tu:.2f} | {ou / tu:.2f} | {od:.2f} | {td:.2f} | {od / td:.2f} "
            f"| {lo:.1f} / {lt:.1f} |"
        )
    verdicts = []
    worst_up = max(r[1] / r[2] for r in rows)
    worst_down = max(r[3] / r[4] for r in rows)
    verdicts.append(
        f"at most 1/6 of Compose v2 at every size: up {worst_up:.2f}, down {worst_down:.2f} "
        f"({'met' if max(worst_up, worst_down) <= 1 / 6 else 'NOT met'})"
    )
    by_size = {r[0]: r for r in rows}
    if 20 in by_size and max(by_size) >= 200:
        big, small = by_size[max(by_size)], by_size[20]
        gu, gd = big[1] / small[1], big[3] / small[3]
        verdicts.append(
            f"{big[0]}-service time / 20-service time <= 10.5: up {gu:.1f}, down {gd:.1f} "
            f"({'met' if max(gu, gd) <= 10.5 else 'NOT met'})"
        )
        verdicts.append(
            f"GET /containers/json with {big[0]} running < 50 ms: {big[5]:.1f} ms "
            f"({'met' if big[5] < 50 else 'NOT met'})"
        )
    out += ["", "Targets: " + "; ".join(verdicts) + "."]
    if notes:
        out.append(
            f'dockerd refused the network removal of {len(notes)} `down`s ("has active endpoints"): their '
            "time is that of the refused `down` (every container removed); the network was removed after, "
            "untimed."
        )
    return "\n".join(out) + "\n"


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--growth", help="comma-separated project sizes, e.g. 20,100,200")
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    if args.growth:
        report = growth([int(x) for x in args.growth.split(",")], args.cycles)
    else:
        report = everyday(args.rounds)
    print(report)
    if args.record:
        with open(ROOT / "bench" / "RESULTS.md", "a") as f:
            f.write("\n" + report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
