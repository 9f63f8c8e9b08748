from __future__ import annotations

from pathlib import Path

import pytest

from composer.errors import ConfigError
from composer.loader.dotenv import parse_dotenv
from composer.loader.environment import (
    default_env_files,
    environment_mapping,
    read_env_files,
    resolve_service_environment,
    with_defaults,
)


def test_dotenv_syntax_like_compose() -> None:
    text = (
        "# comment\n"
        "export A=1\n"
        "B: two\n"
        "C=${A}-x # trailing comment\n"
        'D="multi\nline \\n ${A} \\$A $$A"\n'
        "E='${A} \\n'\n"
        "F=a#b\n"
        "SHELL_ONLY\n"
        "G=\n"
    )
    out = parse_dotenv(text, ".env", {"SHELL_ONLY": "s", "A": "shell"}.get)
    assert out == {
        "A": "1",
        "B": "two",
        "C": "shell-x",  # known variables win over the file's own
        "D": "multi\nline \n shell $A $A",
        "E": "${A} \\n",
        "F": "a#b",
        "SHELL_ONLY": "s",
        "G": "",
    }


def test_dotenv_errors_name_the_line() -> None:
    with pytest.raises(ConfigError, match="^.env:2:1: key cannot contain a space$"):
        parse_dotenv("A=1\nB C=2\n", ".env")
    with pytest.raises(ConfigError, match="^.env:3:1: required variable B is missing a value: need B$"):
        parse_dotenv("# c\n\nA=${B:?need B}\n", ".env")
    with pytest.raises(ConfigError, match="unterminated quoted value"):
        parse_dotenv('A="open\n', ".env")
    with pytest.raises(ConfigError, match='unexpected character "!"'):
        parse_dotenv("A!=1\n", ".env")


def test_shell_wins_and_later_env_files_override(tmp_path: Path) -> None:
    (tmp_path / "one.env").write_text("A=1\nB=1\nC=1\n")
    (tmp_path / "two.env").write_text("B=2\nC=${B}\n")
    files = read_env_files([str(tmp_path / "one.env"), str(tmp_path / "two.env")], {"A": "shell"})
    assert files == {"A": "1", "B": "2", "C": "2"}
    assert with_defaults({"A": "shell"}, files)["A"] == "shell"


def test_default_env_file(tmp_path: Path) -> None:
    assert default_env_files(str(tmp_path), {}) == []
    (tmp_path / ".env").write_text("A=1\n")
    assert default_env_files(str(tmp_path), {}) == [str(tmp_path / ".env")]
    assert default_env_files(str(tmp_path), {"COMPOSE_DISABLE_ENV_FILE": "true"}) == []


def test_environment_list_and_map() -> None:
    assert environment_mapping(["A=1", "B", "C="]) == {"A": "1", "B": None, "C": ""}
    assert environment_mapping({"A": 1, "B": None, "C": True}) == {"A": "1", "B": None, "C": "true"}


def test_service_environment_from_env_files(tmp_path: Path) -> None:
    (tmp_path / "a.env").write_text("X=file\nY=file\nZ=${P}\n")
    service = {
        "env_file": [str(tmp_path / "a.env"), {"path": str(tmp_path / "none.env"), "required": False}],
        "environment": ["X", "Y=own", "P"],
    }
    env = resolve_service_environment(service, {"P": "proj"})
    # own entries win; a value-less key unknown to the project stays null even over the file's value
    assert env == {"X": None, "Y": "own", "Z": "proj", "P": "proj"}
    with pytest.raises(ConfigError, match="env file .*none.env not found"):
        resolve_service_environment({"env_file": str(tmp_path / "none.env")}, {})
    with pytest.raises(ConfigError, match='unsupported env_file format "xml"'):
        resolve_service_environment({"env_file": [{"path": str(tmp_path / "a.env"), "format": "xml"}]}, {})


def test_raw_env_file_keeps_values_verbatim(tmp_path: Path) -> None:
    raw = tmp_path / "raw.env"
    raw.write_text('A="quoted stays"\n# comment\n\nB=$NOT ${X} # not comment\nC= spaced \nNOEQ\n  D=a=b\r\n')
    service = {"env_file": [{"path": str(raw), "format": "raw"}]}
    assert resolve_service_environment(service, {"NOEQ": "known", "X": "x"}) == {
        "A": '"quoted stays"',
        "B": "$NOT ${X} # not comment",
        "C": " spaced ",
        "NOEQ": "known",
        "D": "a=b",
    }
    raw.write_text("export E=1\n")
    with pytest.raises(ConfigError, match="variable 'export E' contains whitespaces"):
        resolve_service_environment(service, {})
