from __future__ import annotations

import os
from pathlib import Path

import pytest

from composer.errors import ConfigError
from composer.loader import discovery
from tests.unit.loader.conftest import load


def test_default_file_in_parent_with_override(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services: {a: {image: x}}\n")
    (tmp_path / "docker-compose.yml").write_text("services: {b: {image: x}}\n")
    (tmp_path / "compose.override.yaml").write_text("services: {a: {image: y}}\n")
    sub = tmp_path / "sub" / "deeper"
    sub.mkdir(parents=True)
    warnings: list[str] = []
    found = discovery.config_files([], {}, str(sub), str(sub), warnings)
    assert found == [str(tmp_path / "compose.yaml"), str(tmp_path / "compose.override.yaml")]
    assert warnings[0].startswith("Found multiple config files with supported names")


def test_nothing_found(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no configuration file provided: not found"):
        discovery.find_default_files(str(tmp_path), [])


def test_compose_file_variable_and_separator(tmp_path: Path) -> None:
    env = {"COMPOSE_FILE": "a.yaml,sub/b.yaml", "COMPOSE_PATH_SEPARATOR": ","}
    assert discovery.config_files([], env, str(tmp_path), str(tmp_path), []) == [
        str(tmp_path / "a.yaml"),
        str(tmp_path / "sub" / "b.yaml"),
    ]
    env = {"COMPOSE_FILE": f"a.yaml{os.pathsep}b.yaml"}
    assert len(discovery.config_files([], env, str(tmp_path), str(tmp_path), [])) == 2
    assert discovery.config_files(["-", "x.yaml"], env, "/", str(tmp_path), []) == [
        "-",
        str(tmp_path / "x.yaml"),
    ]


def test_project_directory() -> None:
    assert discovery.working_directory(None, ["-", "/a/b/c.yaml"], "/cwd") == "/a/b"
    assert discovery.working_directory("rel", ["/a/b/c.yaml"], "/cwd") == "/cwd/rel"
    assert discovery.working_directory(None, [], "/cwd") == "/cwd"


def test_project_names() -> None:
    assert discovery.normalize_project_name("_My.Project-1") == "myproject-1"
    assert discovery.check_project_name("ok_name-1") == "ok_name-1"
    with pytest.raises(ConfigError, match='invalid project name "Bad": must consist only of lowercase'):
        discovery.check_project_name("Bad")


def test_name_precedence_and_env_file_for_compose_file(tree) -> None:  # type: ignore[no-untyped-def]
    root = tree(
        {
            "app/c.yaml": "name: ${N:-fromfile}\nservices: {web: {image: x}}\n",
            ".env": "COMPOSE_FILE=app/c.yaml\nN=Dot.Env\n",
        }
    )
    loaded = load(root)
    assert loaded.config_files == (str(root / "app" / "c.yaml"),)
    assert loaded.working_dir == str(root / "app")
    assert loaded.name == "dotenv"  # interpolated with the .env next to the cwd, then normalized
    assert load(root, env={"COMPOSE_PROJECT_NAME": "envname"}).name == "envname"
    assert load(root, project_name="flag").name == "flag"
    with pytest.raises(ConfigError, match="invalid project name"):
        load(root, env={"COMPOSE_PROJECT_NAME": "Upper"})


def test_stdin_file(tmp_path: Path) -> None:
    loaded = load(tmp_path, "-", stdin_text="services: {web: {image: x}}\n", project_name="p")
    assert list(loaded.canonical["services"]) == ["web"]


def test_warnings_are_collected_not_printed(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("version: '3'\nservices: {web: {image: '${NOPE}x'}}\n")
    loaded = load(tmp_path)
    # the reference's order: interpolation warns first, the obsolete version after validation
    assert loaded.warnings == (
        'The "NOPE" variable is not set. Defaulting to a blank string.',
        f"{tmp_path / 'compose.yaml'}: the attribute `version` is obsolete, it will be ignored, "
        "please remove it to avoid potential confusion",
    )
    assert "version" not in loaded.canonical


def test_warnings_travel_with_a_loading_error(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "version: '3'\nservices: {web: {image: '${NOPE}', ports: [x:y:z:w]}}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load(tmp_path)
    assert caught.value.warnings[0] == 'The "NOPE" variable is not set. Defaulting to a blank string.'
    assert "the attribute `version` is obsolete" in caught.value.warnings[1]


def test_a_service_without_body_is_not_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("version: '3'\nservices:\n  web:\n")
    with pytest.raises(ConfigError, match=r"compose.yaml:3:3: services\.web must be a mapping$") as caught:
        load(tmp_path)
    assert caught.value.warnings == ()  # validation fails before the version warning, as the reference


def test_marks_point_into_the_file_that_wrote_the_value(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("services:\n  web:\n    image: x\n    ports: ['80:80']\n")
    (tmp_path / "b.yaml").write_text("services:\n  web:\n    ports:\n      - '81:81'\n    tty: true\n")
    marks = load(tmp_path, "a.yaml", "b.yaml").marks
    assert marks[("services", "web", "image")].file == str(tmp_path / "a.yaml")
    assert marks[("services", "web", "tty")].file == str(tmp_path / "b.yaml")
    assert marks[("services", "web", "ports")].file == str(tmp_path / "b.yaml")
    # the appended item's index in the merged list is not its index in b.yaml
    assert marks[("services", "web", "ports", 0)].file == str(tmp_path / "a.yaml")
    assert ("services", "web", "ports", 1) not in marks


def test_symlinked_project_directory_warns_and_uses_the_link_name(tmp_path: Path) -> None:
    real = tmp_path / "Real_Dir"
    real.mkdir()
    (real / "compose.yaml").write_text("services: {web: {image: x}}\n")
    link = tmp_path / "Link.Name"
    link.symlink_to(real)
    loaded = load(link)
    assert loaded.name == "linkname"
    assert loaded.warnings == (
        'project has been loaded without an explicit name from a symlink. Using name "Link.Name"',
    )
    with pytest.raises(ConfigError, match="project name must not be empty"):
        empty = tmp_path / "__"
        empty.mkdir()
        (empty / "compose.yaml").write_text("services: {web: {image: x}}\n")
        load(empty)


def test_current_directory_prefers_the_shell_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    monkeypatch.chdir(link)
    assert discovery.current_directory({"PWD": str(link)}) == str(link)
    assert discovery.current_directory({"PWD": str(tmp_path)}) == str(real)
    assert discovery.current_directory({}) == str(real)
