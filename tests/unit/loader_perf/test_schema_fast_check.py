"""The compiled schema check never accepts what jsonschema rejects, and accepts the valid files we know."""

from __future__ import annotations

import ast
import copy
import json
import random
from typing import Any

import jsonschema
import pytest

from composer.loader import _schema_check, schema_file
from composer.loader.schema_compile import compile_check, generate
from composer.loader.validate import validate_schema

SCHEMA_TEXT = schema_file.SCHEMA_PATH.read_bytes()
SCHEMA = json.loads(SCHEMA_TEXT)
REFERENCE = jsonschema.Draft7Validator(SCHEMA)


def _fast(data: Any) -> bool:
    check = schema_file.fast_check()
    assert check is not None
    try:
        return check(data)
    except Exception:  # the validator treats a raise as "ask jsonschema"
        return False


def test_pregenerated_check_matches_the_schema() -> None:
    # a stale module still works (compiled in memory) but costs start-up time: regenerate with
    # `python -m composer.loader.schema_file`
    assert schema_file.schema_digest(SCHEMA_TEXT) == _schema_check.SCHEMA_KEY
    expected = generate(SCHEMA, schema_file.schema_digest(SCHEMA_TEXT))
    # compared as syntax trees: a formatter run over the package may restyle the file harmlessly
    written = schema_file.GENERATED_PATH.read_text(encoding="utf-8")
    assert ast.dump(ast.parse(written)) == ast.dump(ast.parse(expected))
    assert schema_file.fast_check() is _schema_check.check


def test_generation_is_deterministic() -> None:
    digest = schema_file.schema_digest(SCHEMA_TEXT)
    assert generate(copy.deepcopy(SCHEMA), digest) == generate(SCHEMA, digest)


def test_corpus_verdicts_agree(documents: list[tuple[str, dict[str, Any]]]) -> None:
    accepted = 0
    for name, data in documents:
        valid = not any(True for _ in REFERENCE.iter_errors(data))
        fast = _fast(data)
        assert not (fast and not valid), f"{name}: fast check accepts what jsonschema rejects"
        # the fast path must actually serve the valid files we know, or it is no faster
        assert fast == valid, f"{name}: valid file refused by the fast check"
        accepted += fast
    assert accepted > 50


_ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    1.0,
    1.5,
    float("nan"),
    "",
    "x",
    "1",
    "true",
    "x-a",
    "Z",
    "service_healthy",
    "bind",
    [],
    ["a"],
    ["a", "a"],
    [1, 1.0],
    [True, 1],
    [1, "1"],
    {},
    {"a": 1},
    {"x-a": 1},
    [{"a": 1}],
]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


def _mutate(data: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """One random edit: a value replaced by an odd one, a key added, an item duplicated or removed."""
    mutated = copy.deepcopy(data)
    paths = _paths(mutated)[1:]
    if not paths:
        mutated["services"] = rng.choice(_ODD_VALUES)
        return mutated
    path = rng.choice(paths)
    parent: Any = mutated
    for part in path[:-1]:
        parent = parent[part]
    key = path[-1]
    action = rng.randrange(4)
    if action == 0:
        parent[key] = rng.choice(_ODD_VALUES)
    elif action == 1 and isinstance(parent, dict):
        parent[rng.choice(["bogus", "x-ok", "image", "ports", "name", "condition"])] = rng.choice(_ODD_VALUES)
    elif action == 2 and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[key]))  # duplicates, for uniqueItems
    elif isinstance(parent, dict):
        del parent[key]
    else:
        parent.pop(key)
    return mutated


def test_mutated_documents_never_accepted_wrongly(documents: list[tuple[str, dict[str, Any]]]) -> None:
    rng = random.Random(20261128)
    rejected = accepted = 0
    for _ in range(4000):
        name, data = rng.choice(documents)
        mutated = _mutate(data, rng)
        for _ in range(rng.randrange(3)):
            mutated = _mutate(mutated, rng)
        valid = not any(True for _ in REFERENCE.iter_errors(mutated))
        fast = _fast(mutated)
        assert not (fast and not valid), f"mutation of {name} wrongly accepted: {mutated!r}"
        rejected += not valid
        accepted += fast
    assert rejected > 500 and accepted > 500  # both verdicts were exercised


@pytest.mark.parametrize(
    ("schema", "good", "bad"),
    [
        ({"type": "integer"}, [1, 2.0, -3], [True, 1.5, "1", None]),
        ({"type": ["string", "null"]}, ["", None], [0, False, []]),
        ({"enum": ["a", 1]}, ["a"], ["b", None]),
        ({"pattern": "^x"}, ["xa", 3], ["ax"]),
        ({"required": ["a"], "properties": {"a": {"type": "string"}}}, [{"a": "b"}, []], [{}, {"a": 1}]),
        (
            {"patternProperties": {"^x-": {}}, "properties": {"k": {}}, "additionalProperties": False},
            [{"x-y": 1, "k": 2}],
            [{"y": 1}],
        ),
        ({"items": {"type": "string"}, "uniqueItems": True}, [["a", "b"], "no list"], [["a", "a"], [1]]),
        ({"anyOf": [{"type": "string"}, {"$ref": "#/definitions/n"}]}, ["s", 1], [None]),
    ],
)
def test_small_schemas_judged_like_jsonschema(
    schema: dict[str, Any], good: list[Any], bad: list[Any]
) -> None:
    schema = {**schema, "definitions": {"n": {"type": "number"}}}
    check = compile_check(json.dumps(schema).encode())
    assert check is not None
    reference = jsonschema.Draft7Validator(schema)
    for value in good:
        assert reference.is_valid(value) and check(value), value
    for value in bad:
        assert not reference.is_valid(value) and not check(value), value


def test_unknown_keywords_are_refused_not_ignored() -> None:
    assert compile_check(b'{"type": "integer", "minimum": 3}') is None
    assert compile_check(b'{"items": [{"type": "string"}]}') is None


def test_errors_still_come_from_jsonschema_with_locations() -> None:
    from composer.errors import ConfigError

    data = {"services": {"web": {"image": "busybox", "portz": ["80"]}}}
    marks = {("services", "web", "portz"): schema_file_location()}
    with pytest.raises(ConfigError) as exc:
        validate_schema(data, marks, "compose.yaml")
    assert "additional properties 'portz' not allowed" in str(exc.value)
    assert "compose.yaml:3:5" in str(exc.value)


def schema_file_location() -> Any:
    from composer.errors import Location

    return Location("compose.yaml", 3, 5)
