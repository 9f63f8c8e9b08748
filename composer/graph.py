"""The service dependency graph: edges, start levels, stop order and cycle detection.

Edges come from ONE function, `service_dependencies`, fed with the raw fields (depends_on, links,
network_mode/ipc/pid "service:x", volumes_from) of either the canonical dict or the typed model.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping

from composer._typecheck import TYPE_CHECKING
from composer.errors import ConfigError, Location

if TYPE_CHECKING:
    from typing import Any

    from composer.model import Project

SERVICE_PREFIX = "service:"
CONTAINER_PREFIX = "container:"


def service_dependencies(
    depends_on: Iterable[str],
    links: Iterable[str],
    namespaces: Iterable[str | None],
    volumes_from: Iterable[str],
) -> list[str]:
    """Names of the services this one needs started first, in first-seen order."""
    deps: dict[str, None] = {}
    for name in depends_on:
        deps[name] = None
    for link in links:
        deps[link.split(":")[0]] = None
    for ref in namespaces:
        if ref and ref.startswith(SERVICE_PREFIX):
            deps[ref[len(SERVICE_PREFIX) :]] = None
    for ref in volumes_from:
        if not ref.startswith(CONTAINER_PREFIX):
            deps[ref.split(":")[0]] = None
    return list(deps)


def _dict_edges(services: Mapping[str, Any]) -> dict[str, list[str]]:
    return {
        name: service_dependencies(
            (svc.get("depends_on") or {}).keys(),
            svc.get("links") or [],
            [svc.get(k) for k in ("network_mode", "ipc", "pid", "uts", "cgroup")],
            svc.get("volumes_from") or [],
        )
        for name, svc in services.items()
    }


def project_edges(project: Project) -> dict[str, list[str]]:
    """service -> services it depends on, for the typed model (only services present)."""
    edges: dict[str, list[str]] = {}
    for name, svc in project.services.items():
        deps = service_dependencies(
            svc.depends_on.keys(),
            svc.links,
            (svc.network_mode, svc.ipc, svc.pid, svc.uts, svc.cgroup),
            svc.volumes_from,
        )
        edges[name] = [d for d in deps if d in project.services]
    return edges


def find_cycle(edges: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A cycle as a closed path [a, b, a], starting at its smallest name; None if acyclic."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in edges:
                continue
            if state.get(nxt) == 1:
                loop = stack[stack.index(nxt) :]
                start = loop.index(min(loop))
                loop = loop[start:] + loop[:start]
                return [*loop, loop[0]]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def _cycle_error(cycle: list[str], marks: Mapping[tuple[Any, ...], Location] | None) -> ConfigError:
    location = (marks or {}).get(("services", cycle[0], "depends_on")) or (marks or {}).get(
        ("services", cycle[0])
    )
    return ConfigError("dependency cycle detected: " + " -> ".join(cycle), location=location)


def check_cycles(
    canonical: Mapping[str, Any], marks: Mapping[tuple[Any, ...], Location] | None = None
) -> None:
    cycle = find_cycle(_dict_edges(canonical.get("services") or {}))
    if cycle:
        raise _cycle_error(cycle, marks)


def start_levels(project: Project) -> list[list[str]]:
    """Services grouped by level: every service's dependencies are in earlier levels."""
    edges = project_edges(project)
    cycle = find_cycle(edges)
    if cycle:
        raise _cycle_error(cycle, None)
    sorter = graphlib.TopologicalSorter(edges)
    sorter.prepare()
    levels: list[list[str]] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        levels.append(ready)
        sorter.done(*ready)
    return levels


def stop_order(project: Project) -> list[list[str]]:
    """Levels for stopping: dependents before the services they depend on."""
    return list(reversed(start_levels(project)))


def with_dependencies(project: Project, names: Iterable[str]) -> list[str]:
    """`names` plus everything they need, transitively (what `up web` must start), sorted."""
    edges = project_edges(project)
    found: set[str] = set()
    frontier = [n for n in names if n in edges]
    while frontier:
        current = frontier.pop()
        if current not in found:
            found.add(current)
            frontier.extend(edges[current])
    return sorted(found)


def dependents(project: Project, name: str) -> list[str]:
    """Services that depend on `name`, directly or not (what must restart with it)."""
    edges = project_edges(project)
    found: set[str] = set()
    frontier = [name]
    while frontier:
        current = frontier.pop()
        for svc, deps in edges.items():
            if current in deps and svc not in found:
                found.add(svc)
                frontier.append(svc)
    return sorted(found)
