from __future__ import annotations

import pytest

from composer.errors import ConfigError, Location
from composer.loader.yamlsrc import RESET, Override, parse_documents, path_str, strip_tags
from composer.loader.yamltime import Timestamp, plain_timestamps


def one(text: str) -> dict:
    return parse_documents(text, "c.yaml")[0].data


def test_scalars_follow_go_yaml_v3_not_yaml_1_1() -> None:
    data = one(
        "a: yes\nb: on\nc: off\nd: 0777\ne: 0x1f\nf: 1_000\ng: ~\nh:\ni: true\nj: '12'\nk: 1.5\nl: !!str 12\n"
        "m: -0b101\nn: 0o17\no: 1e400\np: 18446744073709551616\n"
    )
    assert data == {
        "a": "yes", "b": "on", "c": "off", "d": 511, "e": 31, "f": 1000, "g": None, "h": None,
        "i": True, "j": "12", "k": 1.5, "l": "12", "m": -5, "n": 15, "o": "1e400", "p": 2.0**64,
    }  # fmt: skip


def test_marks_for_keys_and_items() -> None:
    doc = parse_documents("services:\n  web:\n    ports:\n      - 80\n      - '81'\n", "c.yaml")[0]
    assert doc.marks[("services", "web")] == Location("c.yaml", 2, 3)
    assert doc.marks[("services", "web", "ports", 1)] == Location("c.yaml", 5, 9)
    assert path_str(("services", "web", "ports", 1)) == "services.web.ports[1]"


def test_anchors_aliases_and_merge_keys() -> None:
    data = one("x-base: &b\n  A: 1\n  B: 2\ns:\n  <<: *b\n  B: 3\nt: *b\nu:\n  <<: [{C: 1}, {C: 2, D: 4}]\n")
    assert data["s"] == {"A": 1, "B": 3}
    assert data["t"] == {"A": 1, "B": 2}
    assert data["u"] == {"C": 1, "D": 4}


def test_duplicate_key_is_located() -> None:
    with pytest.raises(ConfigError) as err:
        one("services:\n  web:\n    image: a\n    image: b\n")
    assert err.value.location == Location("c.yaml", 4, 5)
    assert 'mapping key "image" already defined at line 3' in str(err.value)


def test_syntax_error_has_file_line_column() -> None:
    with pytest.raises(ConfigError) as err:
        one("services:\n  web:\n    labels: [a\n")
    assert err.value.location is not None and err.value.location.file == "c.yaml"
    assert str(err.value).startswith("c.yaml:")


def test_non_string_key_and_non_mapping_top_level() -> None:
    with pytest.raises(ConfigError, match="non-string key in services.web.labels: 1"):
        one("services:\n  web:\n    labels:\n      1: a\n")
    with pytest.raises(ConfigError, match="top-level object must be a mapping"):
        one("- a\n")


def test_reset_and_override_tags() -> None:
    data = one("a: !reset []\nb: !override [1]\nc: [1, !reset 2]\n")
    assert data["a"] is RESET
    assert data["b"] == Override([1])
    assert data["c"] == [1]
    assert strip_tags(data) == {"b": [1], "c": [1]}


def test_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    with pytest.raises(ConfigError, match="maximum node visit limit"):
        one("\n".join(lines) + "\n")


def test_multiple_documents_and_empty_file() -> None:
    docs = parse_documents("a: 1\n---\nb: 2\n", "c.yaml")
    assert [d.data for d in docs] == [{"a": 1}, {"b": 2}]
    assert parse_documents("", "c.yaml") == []


def test_alias_cycles_and_binary() -> None:
    for text in ("x: &a [*a]\n", "a: &a {<<: *a}\n", "b: &b {x: *b}\n"):
        with pytest.raises(ConfigError, match="anchor value contains itself"):
            one(text)
    assert one("a: !!binary aGVsbG8=\n") == {"a": "hello"}
    assert one("x: &a [1]\ny: [*a, *a]\n") == {"x": [1], "y": [[1], [1]]}


def test_reader_errors_are_one_line() -> None:
    with pytest.raises(ConfigError) as err:
        one("a: \x00\n")
    assert "\n" not in str(err.value) and "control characters are not allowed" in str(err.value)


@pytest.mark.parametrize(
    ("text", "rfc3339"),
    [
        ("2024-01-02", "2024-01-02T00:00:00Z"),
        ("2024-1-2 1:2:3", "2024-01-02T01:02:03Z"),
        ("2024-1-2t1:2:3.5+01:00", "2024-01-02T01:02:03.5+01:00"),
        ("2024-01-02T10:00:00.1234567891-00:00", "2024-01-02T10:00:00.123456789Z"),
    ],
)
def test_unquoted_dates_are_timestamps(text: str, rfc3339: str) -> None:
    value = one(f"d: {text}\n")["d"]
    assert isinstance(value, Timestamp) and plain_timestamps(value) == rfc3339


@pytest.mark.parametrize("text", ["2024-02-30", "2024-01-02T10:00:00", "20240102", "'2024-01-02'"])
def test_not_timestamps_stay_strings_or_numbers(text: str) -> None:
    assert not isinstance(one(f"d: {text}\n")["d"], Timestamp)


def test_list_items_are_also_marked_by_name() -> None:
    text = "services:\n  web:\n    depends_on:\n      - db\n    environment: [A=1]\n"
    doc = parse_documents(text, "c.yaml")[0]
    assert doc.marks[("services", "web", "depends_on", "db")] == Location("c.yaml", 4, 9)
    assert doc.marks[("services", "web", "environment", "A")] == Location("c.yaml", 5, 19)
