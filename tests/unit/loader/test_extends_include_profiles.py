from __future__ import annotations

from pathlib import Path

import pytest

from composer.errors import ComposerError, ConfigError
from composer.loader.extends import ExtendsResolver
from composer.loader.include import apply_include
from composer.loader.pipeline import LoadOptions, _Loader
from composer.loader.yamlsrc import parse_documents
from tests.unit.loader.conftest import load


def test_extends_same_file_other_file_and_chains(tree) -> None:  # type: ignore[no-untyped-def]
    root = tree(
        {
            "compose.yaml": (
                "services:\n"
                "  base: {image: b, environment: {A: '1'}, ports: ['80:80']}\n"
                "  mid: {extends: base, environment: {B: '2'}}\n"
                "  web: {extends: mid, command: run}\n"
                "  ext: {extends: {file: lib/base.yaml, service: svc}, image: mine}\n"
            ),
            "lib/base.yaml": "services:\n"
            "  svc: {image: lib, build: ., volumes: ['./data:/data'], env_file: e.env}\n",
            "lib/e.env": "FROM_LIB=1\n",
        }
    )
    services = load(root).canonical["services"]
    assert services["web"]["environment"] == {"A": "1", "B": "2"}
    assert services["web"]["command"] == ["run"]
    assert "extends" not in services["web"]
    ext = services["ext"]
    assert ext["image"] == "mine"
    assert ext["build"]["context"] == str(root / "lib")
    assert ext["volumes"][0]["source"] == str(root / "lib" / "data")
    assert ext["environment"] == {"FROM_LIB": "1"}


def test_extends_cycle_and_missing(tree) -> None:  # type: ignore[no-untyped-def]
    root = tree({"compose.yaml": "services:\n  a: {extends: b}\n  b: {extends: a}\n"})
    with pytest.raises(ConfigError, match="circular reference: a in .* extends b in .* extends a in"):
        load(root)
    root = tree({"compose.yaml": "services:\n  a: {image: x, extends: nope}\n"})
    with pytest.raises(ConfigError, match='cannot extend service "a" in .*: service "nope" not found'):
        load(root)


def test_include_has_its_own_directory_and_env(tree) -> None:  # type: ignore[no-untyped-def]
    root = tree(
        {
            "compose.yaml": "include: [sub/compose.yaml]\nservices:\n"
            "  loc: {image: l, environment: ['V=${V:-unset}']}\n",
            "sub/compose.yaml": "services:\n  inc: {image: i, build: ., environment: ['V=${V}']}\n",
            "sub/.env": "V=subv\n",
        }
    )
    services = load(root).canonical["services"]
    assert services["loc"]["environment"] == {"V": "unset"}
    assert services["inc"]["environment"] == {"V": "subv"}
    assert services["inc"]["build"]["context"] == str(root / "sub")


def test_include_conflict_and_cycle(tree) -> None:  # type: ignore[no-untyped-def]
    root = tree(
        {
            "compose.yaml": "include: [sub.yaml]\nservices:\n  web: {image: local}\n",
            "sub.yaml": "services:\n  web: {image: other}\n",
        }
    )
    with pytest.raises(ConfigError, match="services.web conflicts with imported resource"):
        load(root)
    root = tree(
        {"compose.yaml": "include: [sub.yaml]\nservices: {}\n", "sub.yaml": "include: [compose.yaml]\n"}
    )
    with pytest.raises(ConfigError, match="include cycle detected"):
        load(root)


PROFILES = (
    "services:\n"
    "  a: {image: x, depends_on: [b]}\n"
    "  b: {image: x, profiles: [p1]}\n"
    "  c: {image: x, profiles: [p2], depends_on: [d]}\n"
    "  d: {image: x, profiles: [p3]}\n"
    "  e: {image: x}\n"
)


def test_profiles(tree) -> None:  # type: ignore[no-untyped-def]
    root = tree({"compose.yaml": PROFILES})
    assert sorted(load(root, profiles=["p1"]).canonical["services"]) == ["a", "b", "e"]
    assert sorted(load(root, profiles=["*"]).canonical["services"]) == ["a", "b", "c", "d", "e"]
    loaded = load(root, env={"COMPOSE_PROFILES": "p1, p2,p3"})
    assert sorted(loaded.canonical["services"]) == ["a", "b", "c", "d", "e"]
    assert loaded.all_profiles == {"p1", "p2", "p3"}
    selected = load(root, profiles=["p1"], services=["a"])
    assert sorted(selected.canonical["services"]) == ["a", "b"]
    with pytest.raises(ComposerError, match="no such service: d") as err:
        load(root, profiles=["p1"], services=["c"])
    assert not isinstance(err.value, ConfigError) and err.value.exit_code == 1
    with pytest.raises(ComposerError, match="no such service: zz"):
        load(root, profiles=["p1"], services=["zz"])


def test_extends_and_include_errors_are_located(tmp_path: Path) -> None:
    doc = parse_documents("services:\n  web:\n    extends: nothere\n", "c.yaml")[0]
    with pytest.raises(ConfigError) as err:
        ExtendsResolver({}, True, []).apply(doc.data, "c.yaml", str(tmp_path), doc.marks)
    assert str(err.value).startswith("c.yaml:3:5: services.web.extends: cannot extend service")

    (tmp_path / "sub.yaml").write_text("services:\n  web: {image: other}\n")
    main = tmp_path / "compose.yaml"
    main.write_text("include:\n  - sub.yaml\nservices:\n  web:\n    image: local\n")
    doc = parse_documents(main.read_text(), str(main))[0]
    loader = _Loader(LoadOptions(working_dir=str(tmp_path)), [])
    with pytest.raises(ConfigError) as err:
        apply_include(doc.data, str(tmp_path), {}, (str(main),), loader.load_model, dict(doc.marks))
    assert str(err.value) == f"{main}:4:3: services.web conflicts with imported resource"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("include: [{project_directory: x}]\n", r"include\[0\].path must be a path or a list of paths"),
        ("include: [1]\n", r"include\[0\] must be a path or a mapping"),
        ("include:\n  - path: [a, 1]\n", r"c.yaml:2:5: include\[0\].path must be"),
        ("include: {a: b}\n", "`include` must be a list"),
    ],
)
def test_malformed_include_is_a_clear_error(text: str, message: str, tmp_path: Path) -> None:
    doc = parse_documents(text, "c.yaml")[0]
    loader = _Loader(LoadOptions(working_dir=str(tmp_path)), [])
    with pytest.raises(ConfigError, match=message):
        apply_include(doc.data, str(tmp_path), {}, ("c.yaml",), loader.load_model, dict(doc.marks))


def test_remote_include_and_extends_are_refused_clearly(tmp_path: Path) -> None:
    doc = parse_documents("include: [oci://registry/project:1]\n", "c.yaml")[0]
    loader = _Loader(LoadOptions(working_dir=str(tmp_path)), [])
    with pytest.raises(ConfigError, match="c.yaml:1:11: remote include is not supported: oci://"):
        apply_include(doc.data, str(tmp_path), {}, ("c.yaml",), loader.load_model, dict(doc.marks))
    text = "services:\n  web: {extends: {file: 'https://example.invalid/c.yaml', service: b}}\n"
    doc = parse_documents(text, "c.yaml")[0]
    with pytest.raises(ConfigError, match="remote extends is not supported"):
        ExtendsResolver({}, True, []).apply(doc.data, "c.yaml", str(tmp_path), doc.marks)
