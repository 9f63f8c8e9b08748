"""plan_down / plan_stop / plan_start: reverse dependency order, labels as the record, idempotence."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from composer.model import Project
from composer.plan import Kind
from composer.reconcile import DownOptions, ReconcileError, plan_down, plan_start, plan_stop
from tests.unit.orchestration.conftest import container, snapshot

CHAIN = """
name: c
services:
  db: {image: busybox:latest, volumes: ["data:/data"]}
  api: {image: busybox:latest, depends_on: [db]}
  web: {image: busybox:latest, depends_on: [api], stop_grace_period: 3s}
volumes:
  data: {}
"""

Loader = Callable[[str], Project]


def _all(project: Project) -> list:  # type: ignore[type-arg]
    return [container(project, s) for s in ("db", "api", "web")]


def test_down_stops_dependents_first_then_removes_networks(load: Loader) -> None:
    project = load(CHAIN)
    plan = plan_down(project, snapshot(project, _all(project)))
    ops = plan.by_id()
    # a dependency is stopped once its dependents are stopped; their removals run meanwhile
    assert ops["stop:id-api-1"].after == ("stop:id-web-1",)
    assert ops["stop:id-db-1"].after == ("stop:id-api-1",)
    assert ops["remove:id-api-1"].after == ("stop:id-api-1",)
    assert ops["stop:id-web-1"].timeout == 3 and ops["stop:id-db-1"].timeout == 10
    assert set(ops["rmnet:c_default"].after) == {"remove:id-web-1", "remove:id-api-1", "remove:id-db-1"}
    assert not plan.of_kind(Kind.REMOVE_VOLUME)
    assert [
        op.target
        for op in plan_down(project, snapshot(project), DownOptions(volumes=True)).of_kind(Kind.REMOVE_VOLUME)
    ] == ["c_data"]


def test_down_does_not_wait_for_a_dependent_that_is_stopped_already(load: Loader) -> None:
    project = load(CHAIN)
    stopped_web = container(project, "web", state="exited", status="Exited (0) 1 second ago")
    ops = plan_down(project, snapshot(project, [stopped_web, *_all(project)[:2]])).by_id()
    assert "stop:id-web-1" not in ops and ops["remove:id-web-1"].after == ()
    assert ops["stop:id-api-1"].after == ()  # nothing of web's is running: api can stop at once
    assert ops["stop:id-db-1"].after == ("stop:id-api-1",)


def test_down_without_the_file_orders_by_the_depends_on_labels(load: Loader) -> None:
    project = load(CHAIN)
    plan = plan_down(None, snapshot(project, _all(project)), DownOptions(remove_orphans=True))
    assert plan.by_id()["stop:id-api-1"].after == ("stop:id-web-1",)


def test_down_of_nothing_is_empty_and_orphans_warn(load: Loader) -> None:
    project = load(CHAIN)
    assert not plan_down(project, snapshot(project, existing_resources=False))
    plan = plan_down(project, snapshot(project, [container(project, "gone")], existing_resources=False))
    assert not plan and "c-gone-1" in plan.warnings[0]


def test_stop_only_running_and_start_in_order(load: Loader) -> None:
    project = load(CHAIN)
    running = _all(project)
    stop = plan_stop(project, snapshot(project, running), ["db", "api"], timeout=1)
    assert [op.target for op in stop.operations] == ["c-api-1", "c-db-1"] or {
        op.target for op in stop.operations
    } == {"c-api-1", "c-db-1"}
    assert all(op.timeout == 1 for op in stop.operations)
    stopped = [container(project, s, state="exited", status="Exited (0)") for s in ("db", "api", "web")]
    start = plan_start(project, snapshot(project, stopped))
    ops = start.by_id()
    assert ops["start:c-db-1"].after == ()
    assert "await:db:service_started" in ops["start:c-api-1"].after
    with pytest.raises(ReconcileError, match="no container to start"):
        plan_start(project, snapshot(project), ["db"])
