"""composer.cli.completion: candidates from the docopt usages and the project (no shell involved; the
shells themselves are driven in tests/e2e/test_shell_completion.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from composer.cli.completion import complete, options_of, script, shape_of
from composer.cli.main import main

PROJECT = "services:\n  web: {image: busybox}\n  worker: {image: busybox}\n  db: {image: busybox}\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "compose.yaml").write_text(PROJECT)
    (tmp_path / "other.yaml").write_text("services:\n  only: {image: busybox}\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_commands_and_global_flags(project: Path) -> None:
    assert "up" in complete([""], {}) and "completion" in complete([""], {})
    assert complete(["lo"], {}) == ["logs"]
    assert complete(["--pro"], {}) == ["--project-name", "--project-directory", "--profile", "--progress"]
    assert complete(["-f", ""], {}) == []  # a file name: the shell's own completion
    assert complete(["--progress", ""], {}) == ["auto", "tty", "plain", "json", "quiet"]
    assert complete(["--ansi", "a"], {}) == ["always", "auto"]


def test_command_flags_subcommands_and_services(project: Path) -> None:
    assert complete(["logs", "--ta"], {}) == ["--tail"]
    assert complete(["logs", "w"], {}) == ["web", "worker"]
    assert complete(["logs", "web", ""], {}) == ["db", "web", "worker"]  # SERVICE...
    assert complete(["exec", ""], {}) == ["db", "web", "worker"]
    assert complete(["exec", "web", ""], {}) == []  # the command to run, not a service
    assert complete(["exec", "--user", "root", "w"], {}) == ["web", "worker"]  # an option's value is skipped
    engine_words = ["start", "stop", "status", "logs", "install", "uninstall", "context"]
    assert complete(["engine", ""], {}) == engine_words
    assert complete(["engine", "logs", "--t"], {}) == ["--tail"]
    assert complete(["version", "--format", ""], {}) == ["pretty", "json"]
    assert complete(["ps", "--status", "r"], {}) == ["restarting", "removing", "running"]
    assert complete(["pull", "--policy", ""], {}) == ["missing", "always"]
    assert complete(["completion", ""], {}) == ["bash", "zsh", "fish"]
    assert complete(["-f", "other.yaml", "up", ""], {}) == ["only"]  # the flags typed so far pick the files
    assert complete(["nosuch", ""], {}) == []


def test_a_broken_project_completes_nothing_quietly(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "compose.yaml").write_text("services: [not, a, mapping]\n")
    assert main(["__complete", "logs", ""]) == 0
    assert capsys.readouterr() == ("", "")


def test_usage_parsing() -> None:
    doc = "Usage:\n  x [options] SERVICE\n\nOptions:\n  -u, --user USER  Who\n  -d, --detach     Bg\n"
    assert [(o.names, o.takes_value) for o in options_of(doc)] == [
        (("-u", "--user"), True), (("-d", "--detach"), False)]
    assert shape_of(doc).services == "first"
    assert shape_of("Usage:\n  x [--scale SERVICE=NUM]...\n").services == ""
    for shell in ("bash", "zsh", "fish"):
        assert "composer __complete" in script(shell)
