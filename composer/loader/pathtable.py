"""Lookups of key paths against patterns with `*` wildcards, and a fast copy of parsed trees.

The loader attaches rules to key paths (`services.*.ports` is unique by port, `services.*.cpus` casts to a
float...). Trying every pattern against every path cost a noticeable share of loading a large project;
a trie answers with one dict step per path component. The answer is the same as trying the patterns in
order and taking the first that matches.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from composer.loader.yamlsrc import Override

V = TypeVar("V")
WILDCARD = "*"


class _Node:
    __slots__ = ("children", "star", "hit")

    def __init__(self) -> None:
        self.children: dict[Any, _Node] = {}
        self.star: _Node | None = None
        self.hit: tuple[int, Any] | None = None  # (pattern order, value) of the first pattern ending here


class PathTable(Generic[V]):
    """Patterns (tuples of keys, `*` matching any one key) mapped to values; the first pattern in
    insertion order that matches a whole path wins."""

    def __init__(self, entries: Iterable[tuple[tuple[str, ...], V]]) -> None:
        self._root = _Node()
        for order, (pattern, value) in enumerate(entries):
            node = self._root
            for part in pattern:
                if part == WILDCARD:
                    node.star = node.star or _Node()
                    node = node.star
                else:
                    node = node.children.setdefault(part, _Node())
            if node.hit is None:
                node.hit = (order, value)

    def get(self, path: tuple[Any, ...]) -> V | None:
        best = self._best(self._root, path, 0)
        return None if best is None else best[1]

    def _best(self, node: _Node, path: tuple[Any, ...], depth: int) -> tuple[int, Any] | None:
        if depth == len(path):
            return node.hit
        part = path[depth]
        exact = node.children.get(part) if isinstance(part, str) else None
        found = self._best(exact, path, depth + 1) if exact is not None else None
        if node.star is not None:
            other = self._best(node.star, path, depth + 1)
            if other is not None and (found is None or other[0] < found[0]):
                found = other
        return found


_ATOMS = frozenset({str, int, float, bool})


def copy_tree(value: Any) -> Any:
    """A deep copy of parsed YAML (dicts, lists, scalars, Override/RESET), several times faster than
    copy.deepcopy; anything else goes through copy.deepcopy."""
    kind = type(value)
    if kind is dict:
        return {k: copy_tree(v) for k, v in value.items()}
    if kind is list:
        return [copy_tree(v) for v in value]
    if value is None or kind in _ATOMS:
        return value
    if kind is Override:
        return Override(copy_tree(value.value))
    return copy.deepcopy(value)
