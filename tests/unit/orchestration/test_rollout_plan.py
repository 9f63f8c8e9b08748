"""Start-first updates in the plan (composer.rollout + reconcile): which services get them, batches of
`parallelism` with `delay`, the opt-in default order, and the stop-first fallback where the engine cannot
hold a published port for old and new at once."""

from __future__ import annotations

from collections.abc import Callable

from composer import rollout
from composer.model import Project
from composer.plan import Kind
from composer.reconcile import UpOptions, reconcile
from tests.unit.orchestration.conftest import container, snapshot

Loader = Callable[[str], Project]

WEB = """
name: roll
services:
  web:
    image: busybox:latest
    command: httpd -f
    ports: ["127.0.0.1:8080:80"]
    healthcheck: {{test: [CMD, "true"], interval: 1s, timeout: 2s, retries: 4, start_period: 5s}}
    deploy:
      replicas: 3
      {update}
  worker:
    image: busybox:latest
    command: sleep 1000
"""


def _stale(project: Project) -> list:  # type: ignore[type-arg]
    return [container(project, "web", n, config_hash="old") for n in (1, 2, 3)] + [
        container(project, "worker")
    ]


def test_start_first_replaces_in_batches_with_delay(load: Loader) -> None:
    project = load(WEB.format(update="update_config: {order: start-first, parallelism: 2, delay: 3s}"))
    plan = reconcile(project, snapshot(project, _stale(project)), UpOptions(shared_ports=True))
    assert str(plan) == (
        "Container roll-web-1: Replace start-first (start-first update: config hash changed)\n"
        "Container roll-web-2: Replace start-first (start-first update: config hash changed)\n"
        "Container roll-web-3: Replace start-first (start-first update: config hash changed)\n"
    )
    ops = plan.by_id()
    first, second, third = ops["replace:roll-web-1"], ops["replace:roll-web-2"], ops["replace:roll-web-3"]
    assert (first.delay, second.delay, third.delay) == (0.0, 0.0, 3.0)
    assert first.after == second.after == ()  # one batch of two
    assert third.after == ("replace:roll-web-1", "replace:roll-web-2")  # the next batch waits for it
    assert (third.number, third.container_id, third.kind) == (3, "id-web-3", Kind.REPLACE_CONTAINER)
    assert not plan.warnings


def test_stop_first_stays_compose_behaviour(load: Loader) -> None:
    for update in ("update_config: {order: stop-first}", "labels: {a: b}"):
        project = load(WEB.format(update=update))
        plan = reconcile(project, snapshot(project, _stale(project)), UpOptions(shared_ports=True))
        assert not plan.of_kind(Kind.REPLACE_CONTAINER)
        assert len(plan.of_kind(Kind.STOP_CONTAINER)) == 3


def test_opt_in_default_order(load: Loader) -> None:
    project = load(WEB.format(update="labels: {a: b}"))
    opted = UpOptions(shared_ports=True, update_order="start-first")
    plan = reconcile(project, snapshot(project, _stale(project)), opted)
    assert len(plan.of_kind(Kind.REPLACE_CONTAINER)) == 3
    assert [op.after for op in plan.of_kind(Kind.REPLACE_CONTAINER)][1:] == [
        ("replace:roll-web-1",),
        ("replace:roll-web-2",),
    ]  # parallelism 1 by default
    # an explicit stop-first in the file wins over the default; a service without a healthcheck is stop-first
    project = load(WEB.format(update="update_config: {order: stop-first}"))
    assert not reconcile(project, snapshot(project, _stale(project)), opted).of_kind(Kind.REPLACE_CONTAINER)
    worker = project.services["worker"]
    assert not rollout.wants_start_first(worker, "start-first")


def test_fixed_port_without_shared_ports_falls_back_with_a_warning(load: Loader) -> None:
    project = load(WEB.format(update="update_config: {order: start-first}"))
    plan = reconcile(project, snapshot(project, _stale(project)), UpOptions(shared_ports=False))
    assert not plan.of_kind(Kind.REPLACE_CONTAINER)
    assert plan.warnings == (
        "service web: start-first update needs composer-engine to hold a published port for the old and the "
        "new container at once; updating stop-first",
    )


def test_stopped_container_is_recreated_stop_first(load: Loader) -> None:
    project = load(WEB.format(update="update_config: {order: start-first}"))
    stale = [container(project, "web", 1, config_hash="old", state="exited", status="Exited (0)")]
    plan = reconcile(project, snapshot(project, stale), UpOptions(shared_ports=True, services=("web",)))
    assert not plan.of_kind(Kind.REPLACE_CONTAINER)  # nothing serves: nothing to keep serving


def test_health_deadline_covers_every_retry(load: Loader) -> None:
    svc = load(WEB.format(update="labels: {a: b}")).services["web"]
    # start period 5 s + (interval 1 s + timeout 2 s) x (4 retries + 1) + slack
    assert rollout.health_deadline(svc) == 5 + 3 * 5 + rollout.SLACK
