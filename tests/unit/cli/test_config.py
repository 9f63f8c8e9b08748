"""`composer config` options beyond what the differential corpus covers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.cli.conftest import Result

PROJECT = """\
name: demo
services:
  web:
    image: busybox:${TAG:-latest}
    profiles: [front]
    environment:
      PRICE: "5$$"
  db:
    image: busybox:latest
    build: ./db
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "compose.yaml").write_text(PROJECT)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_output_file_gets_what_stdout_would(cli: Callable[..., Result], project: Path) -> None:
    printed = cli("config")
    written = cli("config", "-o", "out.yaml")
    assert (written.code, written.out) == (0, "")
    assert (project / "out.yaml").read_text() == printed.out


def test_output_file_error_is_one_line(cli: Callable[..., Result], project: Path) -> None:
    result = cli("config", "-o", str(project / "no" / "such" / "dir" / "out.yaml"))
    assert result.code == 1 and result.err.count("\n") == 1 and "cannot write" in result.err


def test_quiet_validates_silently(cli: Callable[..., Result], project: Path) -> None:
    quiet = cli("config", "-q")
    assert (quiet.code, quiet.out, quiet.err) == (0, "", "")
    (project / "compose.yaml").write_text("services:\n  web:\n    imagee: x\n")
    bad = cli("config", "-q")
    assert bad.code != 0 and bad.out == "" and "imagee" in bad.err


def test_bad_format_is_a_usage_error(cli: Callable[..., Result], project: Path) -> None:
    result = cli("config", "--format", "toml")
    assert result.code == 1 and "toml" in result.err and result.err.count("\n") == 1


def test_hash_of_unknown_service(cli: Callable[..., Result], project: Path) -> None:
    result = cli("config", "--hash", "nosuch")
    assert result.code != 0 and "nosuch" in result.err


def test_hash_lists_requested_services(cli: Callable[..., Result], project: Path) -> None:
    lines = cli("--profile", "front", "config", "--hash", "web,db").out.splitlines()
    assert [line.split()[0] for line in lines] == ["web", "db"]
    assert all(len(line.split()[1]) == 64 for line in lines)


def test_profiles_and_images(cli: Callable[..., Result], project: Path) -> None:
    assert cli("config", "--profiles").out == "front\n"
    assert cli("config", "--images").out == "busybox:latest\n"
    assert sorted(cli("--profile", "front", "config", "--services").out.split()) == ["db", "web"]


def test_no_interpolate_keeps_variables(cli: Callable[..., Result], project: Path) -> None:
    data = json.loads(cli("--profile", "front", "config", "--format", "json", "--no-interpolate").out)
    assert data["services"]["web"]["image"] == "busybox:${TAG:-latest}"


def test_dollar_is_escaped_in_output(cli: Callable[..., Result], project: Path) -> None:
    data = json.loads(cli("--profile", "front", "config", "--format", "json").out)
    assert data["services"]["web"]["environment"]["PRICE"] == "5$$"


def test_env_var_reaches_interpolation(cli: Callable[..., Result], project: Path) -> None:
    out = cli("config", "--images", environ={"TAG": "1.36", "COMPOSE_PROFILES": "front"}).out
    assert sorted(out.split()) == ["busybox:1.36", "busybox:latest"]


def test_missing_project_is_one_clear_line(
    cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("-f", "absent.yaml", "config")
    assert result.code != 0 and "absent.yaml" in result.err and result.err.count("\n") == 1


def test_file_from_stdin_matches_reference(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.corpus.corpus import reference_binary

    text = "services:\n  web:\n    image: busybox\n    ports: ['8080:80']\n"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    argv = ["-f", "-", "config", "--format", "json"]
    ours = subprocess.run(
        [sys.executable, "-m", "composer.cli.main", *argv],
        input=text,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert ours.returncode == 0, ours.stderr
    data = json.loads(ours.stdout)
    assert data["name"] == tmp_path.name.lower() and data["services"]["web"]["ports"][0]["target"] == 80
    reference = reference_binary()
    if reference is not None:
        theirs = subprocess.run(
            [reference, *argv], input=text, cwd=tmp_path, env=env, capture_output=True, text=True, check=True
        )
        assert data == json.loads(theirs.stdout)


@pytest.mark.parametrize(("mode", "expected"), [("always", True), ("never", False)])
def test_ansi_modes(mode: str, expected: bool) -> None:
    from composer.presenter import use_color

    assert use_color(mode) is expected
