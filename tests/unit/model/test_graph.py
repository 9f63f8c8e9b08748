"""Dependency graph: edges from every kind of reference, start levels, stop order, cycles."""

from __future__ import annotations

from pathlib import Path

import pytest

from composer.errors import ConfigError
from composer.graph import (
    dependents,
    find_cycle,
    service_dependencies,
    start_levels,
    stop_order,
)
from composer.model import Project

from .conftest import load

FILE = """
services:
  db:
    image: x
  cache:
    image: x
  api:
    image: x
    depends_on:
      db:
        condition: service_healthy
    links: [cache:c]
  web:
    image: x
    depends_on: [api]
    volumes_from: [data, "container:other"]
  data:
    image: x
  sidecar:
    image: x
    network_mode: service:web
  debug:
    image: x
    pid: service:api
    ipc: host
"""


def project(project_dir: Path, text: str = FILE) -> Project:
    return Project.from_dict(load(project_dir, text))


def test_start_levels_group_independent_services(project_dir: Path) -> None:
    assert start_levels(project(project_dir)) == [
        ["cache", "data", "db"],
        ["api"],
        ["debug", "web"],
        ["sidecar"],
    ]


def test_stop_order_is_the_reverse(project_dir: Path) -> None:
    assert stop_order(project(project_dir)) == [
        ["sidecar"],
        ["debug", "web"],
        ["api"],
        ["cache", "data", "db"],
    ]


def test_dependents_are_transitive(project_dir: Path) -> None:
    assert dependents(project(project_dir), "db") == ["api", "debug", "sidecar", "web"]


def test_every_reference_kind_is_an_edge() -> None:
    deps = service_dependencies(
        ["a"], ["b:alias", "c"], ["service:d", "host", None, "container:x"], ["e:ro", "container:f"]
    )
    assert deps == ["a", "b", "c", "d", "e"]


def test_cycle_is_named_from_its_smallest_member() -> None:
    assert find_cycle({"c": ["a"], "a": ["b"], "b": ["c"], "z": []}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["b"], "b": []}) is None
    assert find_cycle({"a": ["a"]}) == ["a", "a"]


def test_cycle_through_implicit_edges_is_a_config_error(project_dir: Path) -> None:
    text = (
        "services:\n  a:\n    image: x\n    network_mode: service:b\n"
        "  b:\n    image: x\n    volumes_from: [a]\n"
    )
    with pytest.raises(ConfigError, match=r"dependency cycle detected: a -> b -> a"):
        load(project_dir, text)


def test_start_levels_of_an_unchecked_cyclic_model_raise(project_dir: Path) -> None:
    text = "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    links: [a]\n"
    canonical = load(project_dir, text, check=False)
    with pytest.raises(ConfigError, match="a -> b -> a"):
        start_levels(Project.from_dict(canonical))


def test_dependencies_outside_the_project_are_not_edges(project_dir: Path) -> None:
    text = (
        "services:\n  a:\n    image: x\n    depends_on:\n      gone:\n"
        "        condition: service_started\n        required: false\n"
    )
    assert start_levels(Project.from_dict(load(project_dir, text, check=False))) == [["a"]]
