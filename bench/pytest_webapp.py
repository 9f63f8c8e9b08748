"""Bring-up and teardown of examples/webapp from a pytest session: composer's pytest plugin on our engine
versus testcontainers' `DockerCompose` driving the reference Compose v2 on a private dockerd.

Each sample is one whole `pytest` process (as CI runs it) whose only test fetches the web page through the
published port: the plugin's `compose_project` (up with healthchecks waited for, `down -v`) against
testcontainers' `DockerCompose(wait=True)` (`docker compose up --wait` ... `down --volumes`). A pytest
session with a trivial test and no project is measured too, so the project's share can be told apart
from pytest's own start.

    python3 bench/pytest_webapp.py [--runs N] [--record]     # --record appends to bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import engine_common  # noqa: F401  (first: it puts the repository on sys.path for peers)

# isort: split
import peers
from engine_common import ROOT, machine, private_engine

WEBAPP = ROOT / "examples" / "webapp"

BASELINE_TEST = "def test_nothing():\n    assert True\n"

COMPOSER_TEST = textwrap.dedent(
    """
    import urllib.request

    def test_web(compose_service_url):
        assert urllib.request.urlopen(compose_service_url("web", 80, path="/"), timeout=5).status == 200
    """
)

TESTCONTAINERS_TEST = textwrap.dedent(
    f"""
    import urllib.request
    import pytest
    from testcontainers.compose import DockerCompose

    @pytest.fixture(scope="module")
    def webapp():
        compose = DockerCompose({str(WEBAPP)!r}, wait=True, docker_command_path={peers.DOCKER!r})
        compose.start()
        try:
            yield compose
        finally:
            compose.stop()  # down --volumes

    def test_web(webapp):
        host, port = webapp.get_service_host_and_port("web", 80)
        url = f"http://127.0.0.1:{{port}}/"
        assert urllib.request.urlopen(url, timeout=5).status == 200
    """
)


def reference_binary() -> str | None:
    from tests.support.reference import reference_binary as find

    return find()


def pytest_session(where: Path, test: str, env: dict[str, str], plugins: tuple[str, ...]) -> float:
    """Seconds for one `pytest` process running `test` in `where`."""
    (where / "test_bench.py").write_text(test)
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    for plugin in plugins:
        argv += ["-p", plugin]
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=where, env=env, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"pytest failed (rc={proc.returncode}): {(proc.stdout + proc.stderr)[-600:]}")
    return elapsed


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_", "PYTEST_"))}
    env.update(PYTHONPATH=str(ROOT), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", **extra)
    return env


def measure_composer(runs: int) -> dict[str, float]:
    with private_engine() as eng, tempfile.TemporaryDirectory(prefix="bench-pt-") as tmp:
        where = Path(tmp)
        (where / "pytest.ini").write_text(f"[pytest]\ncomposer_files = {WEBAPP / 'compose.yaml'}\n")
        env = clean_env({"DOCKER_HOST": f"unix://{eng.socket}"})
        plugins = ("composer.pytest_plugin",)
        pytest_session(where, COMPOSER_TEST, env, plugins)  # warm-up: page cache, the native monitor build
        base = [pytest_session(where, BASELINE_TEST, env, plugins) for _ in range(runs)]
        full = [pytest_session(where, COMPOSER_TEST, env, plugins) for _ in range(runs)]
    return {"session": statistics.median(full), "baseline": statistics.median(base)}


def measure_testcontainers(runs: int) -> dict[str, float] | str:
    ref = reference_binary()
    if not ref or not peers.dockerd_installed():
        return "skipped: the reference Compose v2 binary or dockerd is not installed"
    with (
        peers.private_dockerd() as (denv, tmp, _daemon),
        tempfile.TemporaryDirectory(prefix="bench-tc-") as t,
    ):
        plugins_dir = Path(tmp) / "cli-plugins"  # DOCKER_CONFIG of the private dockerd's CLI env
        plugins_dir.mkdir(exist_ok=True)
        (plugins_dir / "docker-compose").symlink_to(ref)
        where = Path(t)
        env = clean_env({k: v for k, v in denv.items() if k.startswith("DOCKER_")})
        pytest_session(where, TESTCONTAINERS_TEST, env, ())  # warm-up
        base = [pytest_session(where, BASELINE_TEST, env, ()) for _ in range(runs)]
        full = [pytest_session(where, TESTCONTAINERS_TEST, env, ()) for _ in range(runs)]
    return {"session": statistics.median(full), "baseline": statistics.median(base)}


def render(ours: dict[str, float], peer: dict[str, float] | str, runs: int) -> str:
    out = [
        "# pytest session with examples/webapp up and down (bench/pytest_webapp.py)",
        "",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"Machine: {machine()}",
        f"Runs: {runs} pytest processes per row after one warm-up; medians. 'project' = session minus the "
        "same pytest session with a trivial test and no project.",
        "",
        "| how | pytest session s | baseline s | project (up + test + down) s |",
        "|---|---|---|---|",
        f"| composer plugin, our engine | {ours['session']:.2f} | {ours['baseline']:.2f} | "
        f"{ours['session'] - ours['baseline']:.2f} |",
    ]
    if isinstance(peer, str):
        out.append(f"| testcontainers DockerCompose + Compose v2, dockerd | {peer} | | |")
    else:
        out.append(
            f"| testcontainers DockerCompose + Compose v2, dockerd 20.10 | {peer['session']:.2f} | "
            f"{peer['baseline']:.2f} | {peer['session'] - peer['baseline']:.2f} |"
        )
        ratio = ours["session"] / peer["session"]
        project = (ours["session"] - ours["baseline"]) / (peer["session"] - peer["baseline"])
        out += ["", f"Ratio ours/peer: whole session {ratio:.2f}, project share {project:.2f}."]
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    ours = measure_composer(args.runs)
    peer = measure_testcontainers(args.runs)
    report = render(ours, peer, args.runs)
    print(report)
    if args.record:
        with open(ROOT / "bench" / "RESULTS.md", "a") as f:
            f.write("\n" + report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
