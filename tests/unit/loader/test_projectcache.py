"""The loaded project kept between runs (composer.projectcache): a hit gives what a full load gives, and
any change to what the load depended on is a miss."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from composer import projectcache
from composer.loader.loaded import LoadedProject, LoadOptions
from composer.loader.pipeline import load_project

COMPOSE = """\
name: cached
services:
  web:
    image: busybox:${TAG:-latest}
    environment: [FROM_SHELL]
    ports: ["8080:80"]
    env_file: [web.env]
  db:
    image: busybox
    profiles: [debug]
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # inputs changed in the last two seconds are not cached; every file of these tests is that new
    monkeypatch.setattr(projectcache, "_SETTLE_NS", 0)
    root = tmp_path / "proj"
    root.mkdir()
    (root / "compose.yaml").write_text(COMPOSE)
    (root / "web.env").write_text("A=1\nB=${FROM_DOTENV}\n")
    (root / ".env").write_text("FROM_DOTENV=dot\n")
    return root


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[LoadOptions]]:
    """The full loads that happened (a cache hit adds none)."""
    done: list[LoadOptions] = []

    def counted(opts: LoadOptions) -> LoadedProject:
        done.append(opts)
        return load_project(opts)

    monkeypatch.setattr(projectcache, "_load", counted)
    yield done


def options(root: Path, tmp_path: Path, **env: str) -> LoadOptions:
    environ = {"PATH": "/usr/bin:/bin", "HOME": "/root", "XDG_CACHE_HOME": str(tmp_path / "cache"), **env}
    return LoadOptions(working_dir=str(root), environ=environ)


def same(a: LoadedProject, b: LoadedProject) -> None:
    assert a.project == b.project
    assert a.canonical == b.canonical
    for name in ("name", "working_dir", "config_files", "profiles", "all_profiles", "disabled_services"):
        assert getattr(a, name) == getattr(b, name), name
    assert dict(a.environment) == dict(b.environment)
    assert a.marks == b.marks
    assert a.warnings == b.warnings


def test_a_repeated_load_is_a_hit_with_the_same_project(
    project: Path, tmp_path: Path, loads: list[LoadOptions]
) -> None:
    opts = options(project, tmp_path, FROM_SHELL="x", TAG="1.36")
    first = projectcache.load(opts)
    second = projectcache.load(opts)
    assert len(loads) == 1
    same(first, second)
    same(second, load_project(opts))
    assert second.project.services["web"].image == "busybox:1.36"
    assert second.environment["FROM_DOTENV"] == "dot"


@pytest.mark.parametrize(
    "change",
    [
        lambda root: (root / "compose.yaml").write_text(COMPOSE.replace("8080", "8081")),
        lambda root: (root / "web.env").write_text("A=2\nB=${FROM_DOTENV}\n"),
        lambda root: (root / ".env").write_text("FROM_DOTENV=other\n"),
        lambda root: (root / ".env").unlink(),
        lambda root: (root / "compose.override.yaml").write_text("services:\n  web:\n    image: nginx\n"),
    ],
    ids=["compose file edited", "env_file edited", ".env edited", ".env removed", "override file appears"],
)
def test_a_changed_file_is_a_miss(
    project: Path, tmp_path: Path, loads: list[LoadOptions], change: Callable[[Path], Any]
) -> None:
    opts = options(project, tmp_path)
    projectcache.load(opts)
    change(project)
    after = projectcache.load(opts)
    assert len(loads) == 2
    same(after, load_project(opts))


def test_an_edit_keeping_size_and_mtime_is_a_miss(
    project: Path, tmp_path: Path, loads: list[LoadOptions]
) -> None:
    opts = options(project, tmp_path)
    projectcache.load(opts)
    path = project / "compose.yaml"
    before = path.stat()
    path.write_text(COMPOSE.replace("8080", "8081"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # only the ctime tells
    assert projectcache.load(opts).project.services["web"].ports[0].published == "8081"
    assert len(loads) == 2


@pytest.mark.parametrize(
    "env",
    [{"TAG": "1.36"}, {"FROM_SHELL": "y"}, {"FROM_DOTENV": "shell wins"}, {"COMPOSE_PROFILES": "debug"}],
    ids=["interpolated", "environment: [NAME]", "a .env variable set in the shell", "COMPOSE_*"],
)
def test_a_variable_the_load_reads_is_a_miss(
    project: Path, tmp_path: Path, loads: list[LoadOptions], env: dict[str, str]
) -> None:
    projectcache.load(options(project, tmp_path))
    opts = options(project, tmp_path, **env)
    after = projectcache.load(opts)
    assert len(loads) == 2
    same(after, load_project(opts))


def test_a_variable_no_file_names_is_a_hit_with_the_new_environment(
    project: Path, tmp_path: Path, loads: list[LoadOptions]
) -> None:
    projectcache.load(options(project, tmp_path))
    opts = options(project, tmp_path, UNRELATED="1")
    after = projectcache.load(opts)
    assert len(loads) == 1
    same(after, load_project(opts))  # its environment (config --environment) has UNRELATED too


def test_other_options_are_other_entries(project: Path, tmp_path: Path, loads: list[LoadOptions]) -> None:
    base = options(project, tmp_path)
    variants = [
        base,
        LoadOptions(working_dir=base.working_dir, environ=base.environ, profiles=("debug",)),
        LoadOptions(working_dir=base.working_dir, environ=base.environ, project_name="other"),
        LoadOptions(working_dir=base.working_dir, environ=base.environ, interpolate=False),
    ]
    for opts in variants:
        same(projectcache.load(opts), load_project(opts))
    for opts in variants:
        same(projectcache.load(opts), load_project(opts))
    assert len(loads) == len(variants)


def _entries(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache" / "composer" / "projects").glob("*.bin"))


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],
        lambda data: data[:-10] + bytes(10),
        lambda data: b"",
        lambda data: b"composer-project\x01" + bytes(4) + b"not marshal",
    ],
    ids=["truncated", "zeroed tail", "empty", "bad checksum"],
)
def test_a_damaged_entry_is_ignored_and_rewritten(
    project: Path, tmp_path: Path, loads: list[LoadOptions], damage: Callable[[bytes], bytes]
) -> None:
    opts = options(project, tmp_path)
    projectcache.load(opts)
    (entry,) = _entries(tmp_path)
    good = entry.read_bytes()
    entry.write_bytes(damage(good))
    same(projectcache.load(opts), load_project(opts))
    assert len(loads) == 2
    assert entry.read_bytes()[:20] == good[:20] and projectcache.load(opts) is not None
    assert len(loads) == 2  # rewritten: the third load is a hit again


def test_failed_and_fresh_loads_are_not_stored(
    project: Path, tmp_path: Path, loads: list[LoadOptions], monkeypatch: pytest.MonkeyPatch
) -> None:
    from composer.errors import ConfigError

    (project / "compose.yaml").write_text("services:\n  web:\n    image: [\n")
    with pytest.raises(ConfigError):
        projectcache.load(options(project, tmp_path))
    assert _entries(tmp_path) == []
    (project / "compose.yaml").write_text(COMPOSE)
    monkeypatch.setattr(projectcache, "_SETTLE_NS", 3600 * 10**9)  # everything counts as just written
    projectcache.load(options(project, tmp_path))
    assert _entries(tmp_path) == []


def test_the_variable_turns_it_off(project: Path, tmp_path: Path, loads: list[LoadOptions]) -> None:
    opts = options(project, tmp_path, COMPOSER_NO_PROJECT_CACHE="1")
    projectcache.load(opts)
    projectcache.load(opts)
    assert len(loads) == 2
    assert _entries(tmp_path) == []


def test_a_home_that_does_not_exist_is_not_created(
    project: Path, tmp_path: Path, loads: list[LoadOptions]
) -> None:
    home = tmp_path / "no-such-home"
    opts = LoadOptions(working_dir=str(project), environ={"PATH": "/usr/bin:/bin", "HOME": str(home)})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))  # what `~` means to os.path.expanduser
        same(projectcache.load(opts), load_project(opts))
        projectcache.load(opts)
    assert len(loads) == 2
    assert not home.exists()


def test_a_project_from_stdin_is_never_kept(project: Path, tmp_path: Path, loads: list[LoadOptions]) -> None:
    base = options(project, tmp_path)
    for text in (COMPOSE, COMPOSE.replace("8080", "8081")):
        opts = LoadOptions(files=("-",), working_dir=base.working_dir, environ=base.environ, stdin_text=text)
        port = projectcache.load(opts).project.services["web"].ports[0].published
        assert port == ("8080" if text == COMPOSE else "8081")
    assert len(loads) == 2
    assert _entries(tmp_path) == []
