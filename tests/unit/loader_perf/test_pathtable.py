"""PathTable answers as "the first pattern, in order, that matches the whole path"; copy_tree copies."""

from __future__ import annotations

import copy
import itertools
import random
from typing import Any

from composer.loader.interpolate import _CASTS
from composer.loader.pathtable import PathTable, copy_tree
from composer.loader.yamlsrc import RESET, Override


def _linear(entries: list[tuple[tuple[str, ...], Any]], path: tuple[Any, ...]) -> Any:
    for pattern, value in entries:
        if len(pattern) == len(path) and all(p == "*" or p == k for p, k in zip(pattern, path, strict=True)):
            return value
    return None


def _concrete(pattern: tuple[str, ...], rng: random.Random) -> tuple[Any, ...]:
    """A path the pattern matches, sometimes edited so it nearly matches."""
    path: list[Any] = [rng.choice(["web", "*", 0, 3, "db"]) if p == "*" else p for p in pattern]
    edit = rng.randrange(5)
    if edit == 0 and path:
        path[rng.randrange(len(path))] = rng.choice(["other", 1, "services"])
    elif edit == 1:
        path.append(rng.choice(["hard", 0, "x"]))
    elif edit == 2 and path:
        path.pop()
    return tuple(path)


def test_first_matching_pattern_wins() -> None:
    entries = [
        (("a", "*", "c"), 1),
        (("a", "b", "c"), 2),  # shadowed by the earlier wildcard
        (("a", "b", "*"), 3),
        (("*", "*"), 4),
        (("a", "b"), 5),
        ((), 6),
    ]
    table = PathTable(entries)
    for path in [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("a", "b"),
        ("x", 1),
        (),
        ("a",),
        ("a", 0, "c"),
        ("a", "b", 0),
    ]:
        assert table.get(path) == _linear(entries, path), path


def test_agrees_with_linear_matching_on_the_loader_tables() -> None:
    rng = random.Random(7)
    entries = list(_CASTS.items())
    synthetic = [
        (tuple(rng.choice(["services", "*", "ports", "x"]) for _ in range(n)), i)
        for i, n in enumerate(rng.choices(range(5), k=60))
    ]
    for table_entries in (entries, synthetic):
        table = PathTable(table_entries)
        for pattern, _ in itertools.islice(itertools.cycle(table_entries), 5000):
            path = _concrete(pattern, rng)
            assert table.get(path) == _linear(table_entries, path), path


def test_copy_tree_is_a_deep_copy() -> None:
    original: dict[str, Any] = {
        "services": {"web": {"ports": [{"target": 80}], "env": None, "x": Override({"a": [1]})}},
        "flags": [True, 1.5, "s", RESET],
    }
    copied = copy_tree(original)
    assert copied == copy.deepcopy(original)
    assert copied["services"]["web"]["ports"][0] is not original["services"]["web"]["ports"][0]
    assert copied["services"]["web"]["x"].value is not original["services"]["web"]["x"].value
    assert copied["flags"][3] is RESET
    copied["services"]["web"]["ports"].append(1)
    assert original["services"]["web"]["ports"] == [{"target": 80}]
