"""pytest plugin: a Compose project per test module, brought up before its tests and always taken down.

Loaded through the `pytest11` entry point when composer is installed (or with `-p composer.pytest_plugin`).

    # pytest.ini / pyproject [tool.pytest.ini_options]
    composer_files = tests/compose.yaml
    composer_scope = session                               # one project for the run (default: per module)

    pytestmark = pytest.mark.composer(files=["compose.yaml"], profiles=["db"])   # per module

    def test_front(compose_project, compose_service_url):
        url = compose_service_url("web", 80)                    # http://127.0.0.1:<ephemeral port>
        compose_project.wait_for_http("web", 80)
        assert compose_project.exec("web", "echo hi").exit_code == 0

What it guarantees:
- each use gets its own project name (file's name, the pytest-xdist worker id, a random suffix) and,
  unless `composer_ephemeral_ports = false`, engine-chosen host ports: parallel workers never collide;
- teardown is `down -v --remove-orphans`, whatever the tests did;
- a failing test's report gets a section per service with its last log lines (`composer_log_lines`);
- stacks of a run that was killed (their owner process gone) are removed when the next run first brings a
  project up, found by the owner label (`composer.reaper`), without a helper container.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

if TYPE_CHECKING:
    from composer.api import Project

MARKER = "composer"
_PROJECT = pytest.StashKey["Project"]()  # on the module (or session) node: its project, also while coming up
_REAPED: set[str | None] = set()  # engines (hosts) already swept by this process


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("composer_files", "Compose files of compose_project (relative to the ini file)", "linelist")
    parser.addini("composer_profiles", "profiles enabled for compose_project", "linelist")
    parser.addini("composer_host", "Engine API endpoint (default: DOCKER_HOST, then the embedded engine)")
    parser.addini(
        "composer_ephemeral_ports",
        "publish every port of compose_project on an engine-chosen host port",
        "bool",
        default=True,
    )
    parser.addini("composer_log_lines", "log lines per service in a failing test's report", default="100")
    parser.addini("composer_up_timeout", "seconds compose_project waits for healthy services", default="120")
    parser.addini("composer_scope", "compose_project's scope: module (default) or session", default="module")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(files=None, profiles=(), services=()): the Compose files, profiles and services of this "
        "module's compose_project",
    )


def _scope(fixture_name: str, config: pytest.Config) -> Literal["module", "session"]:
    """compose_project's scope (and its files'): one project per module, or one for the whole session."""
    scope = str(config.getini("composer_scope") or "module")
    if scope not in ("module", "session"):
        raise pytest.UsageError(f"composer_scope = {scope!r}: use module or session")
    return "session" if scope == "session" else "module"


def _marker(request: pytest.FixtureRequest) -> pytest.Mark | None:
    mark: pytest.Mark | None = request.node.get_closest_marker(MARKER)
    return mark


def _ini_dir(config: pytest.Config) -> Path:
    return Path(config.inipath).parent if config.inipath else Path(config.rootpath)


@pytest.fixture(scope=_scope)
def compose_file(request: pytest.FixtureRequest) -> list[str] | None:
    """The project's files: the module's `composer` marker, else the `composer_files` ini option, else None
    (found as the CLI finds it, from the current directory). Override it to choose files in code."""
    mark = _marker(request)
    if mark is not None and mark.kwargs.get("files"):
        files = mark.kwargs["files"]
        base = Path(str(request.node.path)).parent
        return [str(base / f) for f in ([files] if isinstance(files, (str, os.PathLike)) else files)]
    configured = request.config.getini("composer_files")
    if configured:
        return [str(_ini_dir(request.config) / f) for f in configured]
    return None


def _host(config: pytest.Config) -> str | None:
    return str(config.getini("composer_host") or "") or None


def _reap_once(host: str | None) -> None:
    from composer.api import reap_orphaned

    if host in _REAPED:
        return
    _REAPED.add(host)
    removed = reap_orphaned(host)
    if removed:
        import logging

        logging.getLogger(__name__).warning("removed stacks left by killed runs: %s", ", ".join(removed))


@pytest.fixture(scope=_scope)
def compose_project(request: pytest.FixtureRequest, compose_file: list[str] | None) -> Iterator[Project]:
    """The project, up (waiting for healthchecks) for the module's tests (or the session's, with
    `composer_scope = session`), then `down -v`."""
    from composer.api import Project

    config = request.config
    mark = _marker(request)
    profiles = tuple(mark.kwargs.get("profiles", ())) if mark else ()
    profiles = profiles or tuple(config.getini("composer_profiles"))
    services = tuple(mark.kwargs.get("services", ())) if mark else ()
    host = _host(config)
    _reap_once(host)
    project = Project.load(
        compose_file,
        profiles=profiles,
        host=host,
        ephemeral_ports=bool(config.getini("composer_ephemeral_ports")),
        reap_orphaned=True,
        name_tag=os.environ.get("PYTEST_XDIST_WORKER"),
    )
    request.node.stash[_PROJECT] = project
    try:
        project.up(services, wait=True, timeout=float(config.getini("composer_up_timeout")))
        yield project
    finally:
        project.down(volumes=True)
        del request.node.stash[_PROJECT]


@pytest.fixture(scope=_scope)
def compose_service_url(compose_project: Project) -> Callable[..., str]:
    """`compose_service_url(service, port, scheme="http", path="")` -> the URL of a published port."""

    def url(service: str, port: int, scheme: str = "http", path: str = "") -> str:
        return compose_project.service_url(service, port, scheme, path=path)

    return url


def _projects(item: pytest.Item) -> list[Project]:
    from composer.api import Project

    funcargs: dict[str, Any] = getattr(item, "funcargs", {}) or {}
    found: list[Project] = []
    candidates = list(funcargs.values())
    for node in (item.getparent(pytest.Module), item.session):  # module or session scope
        if node is not None and _PROJECT in node.stash:
            candidates.append(node.stash[_PROJECT])
    for value in candidates:
        if isinstance(value, Project) and all(value is not p for p in found):
            found.append(value)
    return found


def _log_sections(project: Project, lines: int) -> list[tuple[str, str]]:
    from composer.errors import ComposerError

    sections = []
    for service in project.services:
        try:
            text = "\n".join(f"{ln.container} | {ln.text}" for ln in project.logs(service, tail=lines))
        except ComposerError as exc:
            text = f"(logs not available: {exc})"
        sections.append((f"composer logs: {service} ({project.name})", text or "(no output)"))
    return sections


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and call.when in ("setup", "call"):
        lines = int(item.config.getini("composer_log_lines"))
        for project in _projects(item):
            for title, text in _log_sections(project, lines):
                report.sections.append((title, text))
    return report
