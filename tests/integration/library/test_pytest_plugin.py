"""The pytest plugin in real pytest runs (subprocesses, as users run them) against a private engine:
pytest-xdist workers bringing up the same project at once, a failing test's report with the services'
logs, and a killed run's stack reaped by the next run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import quote

import pytest

from composer import labels as L
from tests.support.engine import EngineProcess

pytestmark = pytest.mark.root

REPO = Path(__file__).resolve().parents[3]
WEBAPP = REPO / "examples" / "webapp" / "compose.yaml"


def _pytest(
    engine: EngineProcess, where: Path, *args: str, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """pytest in `where` with only our plugin (and xdist) loaded, this checkout's composer first on the
    path, and the private engine as DOCKER_HOST."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_", "PYTEST_"))}
    env.update(
        DOCKER_HOST=engine.docker_host,
        PYTHONPATH=str(REPO),
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
    )
    argv = [sys.executable, "-m", "pytest", "-p", "composer.pytest_plugin", "-p", "no:cacheprovider", *args]
    return subprocess.run(argv, cwd=where, env=env, capture_output=True, text=True, timeout=timeout)


def _ini(where: Path) -> None:
    (where / "pytest.ini").write_text(f"[pytest]\ncomposer_files = {WEBAPP}\n")


def _containers(engine: EngineProcess, project: str) -> list[str]:
    label = json.dumps({"label": [f"{L.PROJECT}={project}"]})
    return [c["Names"][0] for c in engine.json("GET", f"/containers/json?all=1&filters={quote(label)}")]


def _volumes(engine: EngineProcess, project: str) -> list[str]:
    label = json.dumps({"label": [f"{L.PROJECT}={project}"]})
    return [v["Name"] for v in engine.json("GET", f"/volumes?filters={quote(label)}")["Volumes"] or []]


# Each module's test waits for the other's: the two can only both pass when the workers ran at once.
_PARALLEL_TEST = """
import os, time, urllib.request
from pathlib import Path

def test_up(compose_project, compose_service_url):
    me, other = "{me}", "{other}"
    url = compose_service_url("web", 80)
    assert urllib.request.urlopen(url + "/", timeout=30).status == 200
    Path(me).write_text(f"{{compose_project.name}} {{url}} {{os.environ['PYTEST_XDIST_WORKER']}}")
    deadline = time.monotonic() + 120
    while not Path(other).exists():
        assert time.monotonic() < deadline, "the other worker never had its project up"
        time.sleep(0.1)
"""


def test_two_xdist_workers_bring_up_the_same_project_at_once(
    library_engine: EngineProcess, tmp_path: Path
) -> None:
    _ini(tmp_path)
    a, b = tmp_path / "a.up", tmp_path / "b.up"
    (tmp_path / "test_a.py").write_text(_PARALLEL_TEST.format(me=a, other=b))
    (tmp_path / "test_b.py").write_text(_PARALLEL_TEST.format(me=b, other=a))
    run = _pytest(library_engine, tmp_path, "-p", "xdist.plugin", "-n", "2", "--dist", "loadfile")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout
    (name_a, url_a, worker_a), (name_b, url_b, worker_b) = (p.read_text().split() for p in (a, b))
    assert {worker_a, worker_b} == {"gw0", "gw1"}
    assert (
        name_a != name_b
        and name_a.startswith(f"webapp-{worker_a}-")
        and name_b.startswith(f"webapp-{worker_b}-")
    )
    assert url_a != url_b  # engine-chosen host ports, not the file's 8080
    assert _containers(library_engine, name_a) == _containers(library_engine, name_b) == []  # down -v ran
    assert _volumes(library_engine, name_a) == _volumes(library_engine, name_b) == []


def test_a_failing_test_report_shows_each_services_logs(
    library_engine: EngineProcess, tmp_path: Path
) -> None:
    _ini(tmp_path)
    (tmp_path / "test_fail.py").write_text(
        textwrap.dedent(
            """
            import urllib.request

            def test_passes(compose_project):
                assert compose_project.ps()

            def test_fails(compose_project, compose_service_url):
                urllib.request.urlopen(compose_service_url("web", 80, path="/"), timeout=30).read()
                compose_project.wait_for_log("web", "response:200")
                assert 1 + 1 == 3, "broken on purpose"
            """
        )
    )
    run = _pytest(library_engine, tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed, 1 passed" in run.stdout
    report = run.stdout[run.stdout.index("broken on purpose") :]
    for service in ("kv", "web", "worker"):
        assert f" composer logs: {service} (webapp-" in report
    web = report[report.index(" composer logs: web ") :]
    assert "-web-1 | [::ffff:127.0.0.1]:" in web and "response:200" in web
    assert "composer logs" not in run.stdout[: run.stdout.index("broken on purpose")]  # only on failure


def test_a_killed_runs_stack_is_reaped_by_the_next_run(library_engine: EngineProcess, tmp_path: Path) -> None:
    _ini(tmp_path)
    record = tmp_path / "killed.name"
    (tmp_path / "test_killed.py").write_text(
        textwrap.dedent(
            f"""
            import os, signal
            from pathlib import Path

            def test_dies(compose_project):
                Path({str(record)!r}).write_text(compose_project.name)
                os.kill(os.getpid(), signal.SIGKILL)  # no teardown runs
            """
        )
    )
    killed = _pytest(library_engine, tmp_path)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    orphan = record.read_text()
    assert len(_containers(library_engine, orphan)) == 3 and _volumes(library_engine, orphan)
    (tmp_path / "test_killed.py").unlink()
    (tmp_path / "test_next.py").write_text(
        "def test_next(compose_project):\n    assert compose_project.ps()\n"
    )
    following = _pytest(library_engine, tmp_path, "-o", "log_cli=true", "-o", "log_cli_level=WARNING")
    assert following.returncode == 0, following.stdout + following.stderr
    assert f"removed stacks left by killed runs: {orphan}" in following.stdout
    assert _containers(library_engine, orphan) == [] and _volumes(library_engine, orphan) == []


def test_the_marker_chooses_files_profiles_and_services_per_module(
    library_engine: EngineProcess, tmp_path: Path
) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # no composer_files: each module's marker decides
    (tmp_path / "one.yaml").write_text(
        "services:\n"
        "  base:\n    image: busybox:latest\n    command: [sleep, '1000']\n    init: true\n"
        "  extra:\n    image: busybox:latest\n    command: [sleep, '1000']\n    init: true\n"
        "    profiles: [more]\n"
        "  other:\n    image: busybox:latest\n    command: [sleep, '1000']\n    init: true\n"
    )
    (tmp_path / "test_marked.py").write_text(
        textwrap.dedent(
            """
            import pytest

            pytestmark = pytest.mark.composer(files="one.yaml", profiles=["more"], services=["base", "extra"])

            def test_services(compose_project):
                assert compose_project.name.startswith("{name}-")
                assert sorted(c.service for c in compose_project.ps()) == ["base", "extra"]
            """
        ).replace("{name}", tmp_path.name.lower())
    )
    run = _pytest(library_engine, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_session_scope_shares_one_project_between_modules(
    library_engine: EngineProcess, tmp_path: Path
) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\ncomposer_files = one.yaml\ncomposer_scope = session\n")
    (tmp_path / "one.yaml").write_text(
        "name: shared\nservices:\n  app:\n"
        "    image: busybox:latest\n    command: [sleep, '1000']\n    init: true\n"
    )
    names = tmp_path / "names"
    test = (
        "def test_name(compose_project):\n"
        f"    open({str(names)!r}, 'a').write(compose_project.name + '\\n')\n"
    )
    (tmp_path / "test_one.py").write_text(test)
    (tmp_path / "test_two.py").write_text(test)
    run = _pytest(library_engine, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    first, second = names.read_text().split()
    assert first == second and first.startswith("shared-")
    assert _containers(library_engine, first) == []
