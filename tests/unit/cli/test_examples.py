"""The example projects load, and load to the same canonical model as the reference's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.corpus.corpus import Case, Outcome, comparable, differences, reference_binary, run_reference

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
NAMES = ["webapp", "build", "replicas"]


def _case(name: str) -> Case:
    return Case(
        name=name,
        dir=EXAMPLES / name,
        description=f"example {name}",
        args=(),
        command=("config", "--format", "json"),
    )


@pytest.mark.parametrize("name", NAMES)
def test_example_matches_reference(name: str, run_ours: Callable[[Case], Outcome]) -> None:
    case = _case(name)
    ours = run_ours(case)
    assert ours.exit_code == 0, ours.stderr
    got = comparable(case, ours)
    reference = reference_binary()
    if reference is None:
        pytest.skip("the reference docker-compose binary is not installed: nothing to compare with")
    want = comparable(case, run_reference(case, reference))
    assert got == want, "\n".join(differences(got, want))


def test_webapp_shape(run_ours: Callable[[Case], Outcome]) -> None:
    import json

    ours = run_ours(_case("webapp"))
    project = json.loads(ours.stdout)
    web, kv, worker = (project["services"][n] for n in ("web", "kv", "worker"))
    assert web["depends_on"]["kv"]["condition"] == "service_healthy"
    assert worker["depends_on"]["kv"]["condition"] == "service_healthy"
    assert web["ports"][0]["published"] == "8080" and web["ports"][0]["target"] == 80
    assert kv["healthcheck"]["test"][0] == "CMD-SHELL"
    assert all(s["image"] == "busybox:latest" for s in (web, kv, worker))


def test_replicas_shape(run_ours: Callable[[Case], Outcome]) -> None:
    import json

    project = json.loads(run_ours(_case("replicas")).stdout)
    assert project["services"]["echo"]["deploy"]["replicas"] == 3
