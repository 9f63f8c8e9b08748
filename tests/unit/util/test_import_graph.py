"""The import graph says what docs/architecture.md draws: no cycles between modules (in composer and in
the engine), and the layers import one way only. Imports inside functions count (they run too); those
under `if TYPE_CHECKING:` do not."""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
# Entry points that run the CLI itself: the docker CLI's `compose` plugin is the CLI under another name.
FRONT_ENDS = {"composer.dockercli.plugin"}


def _modules(package: str) -> dict[str, Path]:
    found = {}
    for path in (ROOT / package).rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking_only(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(nodes: list[ast.AST]) -> Iterator[ast.AST]:
    """Every statement, nested ones included, except the body of `if TYPE_CHECKING:`."""
    todo = list(reversed(nodes))
    while todo:
        node = todo.pop()
        if _type_checking_only(node):
            todo.extend(reversed(node.orelse))  # type: ignore[attr-defined]
            continue
        yield node
        for field in ("finalbody", "handlers", "orelse", "body"):
            children = getattr(node, field, None)
            if isinstance(children, list):
                todo.extend(reversed(children))


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules module `name` imports at run time, relative imports resolved. `from pkg import mod`
    counts as importing pkg.mod when that is one of `known`, else as importing pkg."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out: set[str] = set()
    for node in _runtime_nodes(list(ast.parse(path.read_text()).body)):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                prefix = package[: len(package) - node.level + 1]
                base = ".".join([*prefix, base] if base else prefix)
            submodules = {f"{base}.{alias.name}" for alias in node.names} & known.keys()
            out.update(submodules)
            if len(submodules) < len(node.names):
                out.add(base)
    out.discard(name)
    return out


@functools.cache
def _graph(package: str) -> dict[str, set[str]]:
    known = _modules(package)
    return {name: imported(name, path, known) for name, path in known.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative); edges to modules
    outside the graph (the standard library, other packages) are not followed."""
    graph = {name: {d for d in deps if d in graph} for name, deps in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("package", ["composer", "engine"])
def test_no_import_cycles(package: str) -> None:
    assert _cycles(_graph(package)) == []


def _users(graph: dict[str, set[str]], prefix: str) -> set[str]:
    """Modules that import `prefix` or a module below it."""
    return {n for n, deps in graph.items() if any(d == prefix or d.startswith(prefix + ".") for d in deps)}


def test_no_import_cycles_is_checked_on_the_whole_graph() -> None:
    graph = _graph("composer")
    assert "composer.labels" in graph["composer.execute"] and "composer" not in graph["composer.execute"]


def test_layers_import_one_way() -> None:
    composer_graph = _graph("composer")
    engine_graph = _graph("engine")
    outside_cli = sorted(
        n for n in _users(composer_graph, "composer.cli") - FRONT_ENDS if not n.startswith("composer.cli")
    )
    assert outside_cli == []  # the core, watch and the API never reach into the CLI
    assert (
        sorted(n for n in _users(composer_graph, "composer.loader") if n.startswith("composer.model")) == []
    )
    canonical = {n: d for n, d in composer_graph.items() if n.startswith("composer.canonical")}
    leaves = {n for n, d in composer_graph.items() if not any(x.startswith("composer") for x in d)}
    # a leaf layer: nothing of composer's but other leaves (composer._typecheck, a constant)
    assert all(x in leaves for deps in canonical.values() for x in deps if x.startswith("composer"))
    assert sorted(_users(composer_graph, "engine")) == []  # composer reaches the engine over the API only
    assert sorted(_users(engine_graph, "composer")) == []
