"""reconcile(): golden plans for the decisions `up` makes, with no engine involved."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from composer.model import Project
from composer.plan import Kind
from composer.reconcile import ReconcileError, UpOptions, reconcile
from tests.unit.orchestration.conftest import container, snapshot

WEBAPP = """
name: shop
services:
  db:
    image: busybox:latest
    command: sleep 1000
    healthcheck: {test: ["CMD", "true"], interval: 1s}
    volumes: [data:/data]
  web:
    image: busybox:latest
    command: sleep 1000
    depends_on: {db: {condition: service_healthy}}
    deploy: {replicas: 2}
volumes:
  data: {}
"""

Loader = Callable[[str], Project]


def test_fresh_project_creates_everything_in_dependency_order(load: Loader) -> None:
    project = load(WEBAPP)
    plan = reconcile(project, snapshot(project, existing_resources=False))
    assert str(plan) == (
        "Network shop_default: Create (missing)\n"
        "Volume shop_data: Create (missing)\n"
        "Container shop-db-1: Create (missing)\n"
        "Container shop-db-1: Start (created)\n"
        "Container shop-web-1: Create (missing)\n"
        "Container shop-web-2: Create (missing)\n"
        "Service db service_healthy: Wait (needed by web)\n"
        "Container shop-web-1: Start (created)\n"
        "Container shop-web-2: Start (created)\n"
    )
    ops = plan.by_id()
    # as Compose v2 (its events: every create, then the starts): web's containers are created once db's
    # exists, not after its start; they start only after db started and is healthy
    assert "create:shop-db-1" in ops["create:shop-web-1"].after
    assert "start:shop-db-1" not in ops["create:shop-web-1"].after
    assert {"start:shop-db-1", "await:db:service_healthy"} <= set(ops["start:shop-web-2"].after)
    assert ops["await:db:service_healthy"].after == ("start:shop-db-1",)


def test_converged_project_gives_an_empty_plan(load: Loader) -> None:
    project = load(WEBAPP)
    observed = snapshot(
        project, [container(project, "db"), container(project, "web", 1), container(project, "web", 2)]
    )
    plan = reconcile(project, observed)
    assert not plan
    assert str(plan) == ""


def test_changed_config_recreates_only_that_service(load: Loader) -> None:
    project = load(WEBAPP)
    observed = snapshot(
        project,
        [
            container(project, "db", config_hash="old"),
            container(project, "web", 1),
            container(project, "web", 2),
        ],
    )
    plan = reconcile(project, observed)
    assert str(plan) == (
        "Container shop-db-1: Stop (config hash changed)\n"
        "Container shop-db-1: Remove (config hash changed)\n"
        "Container shop-db-1: Create (recreate: config hash changed)\n"
        "Container shop-db-1: Start (recreated)\n"
    )
    assert plan.by_id()["create:shop-db-1"].number == 1
    assert plan.unchanged == ("web",)  # --dry-run says so


def test_changed_image_recreates(load: Loader) -> None:
    project = load(WEBAPP)
    observed = snapshot(
        project,
        [
            container(project, "db", image_id="sha256:old"),
            container(project, "web", 1),
            container(project, "web", 2),
        ],
    )
    assert [op.cause for op in reconcile(project, observed).of_kind(Kind.CREATE_CONTAINER)] == [
        "recreate: image changed"
    ]


def test_force_and_no_recreate(load: Loader) -> None:
    project = load(WEBAPP)
    stale = snapshot(project, [container(project, "db", config_hash="old")])
    forced = reconcile(
        project,
        snapshot(project, [container(project, "db")]),
        UpOptions(services=("db",), force_recreate=True),
    )
    assert [op.cause for op in forced.of_kind(Kind.CREATE_CONTAINER)] == ["recreate: --force-recreate"]
    assert not reconcile(project, stale, UpOptions(services=("db",), no_recreate=True))


def test_stopped_container_is_started_not_recreated(load: Loader) -> None:
    project = load(WEBAPP)
    observed = snapshot(
        project,
        [
            container(project, "db", state="exited", status="Exited (0) 1 second ago"),
            container(project, "web", 1),
            container(project, "web", 2),
        ],
    )
    assert str(reconcile(project, observed)) == "Container shop-db-1: Start (exited)\n"


def test_scale_down_removes_the_highest_numbers_and_scale_up_continues_numbering(load: Loader) -> None:
    project = load(WEBAPP)
    three = [container(project, "db")] + [container(project, "web", n) for n in (1, 2, 3)]
    down = reconcile(project, snapshot(project, three))
    assert (
        str(down)
        == "Container shop-web-3: Stop (scale down to 2)\nContainer shop-web-3: Remove (scale down to 2)\n"
    )
    up = reconcile(project, snapshot(project, three), UpOptions(scale={"web": 5}))
    assert [op.target for op in up.of_kind(Kind.CREATE_CONTAINER)] == ["shop-web-4", "shop-web-5"]
    assert all(op.cause == "scale up to 5" for op in up.of_kind(Kind.CREATE_CONTAINER))


def test_orphans_warn_and_are_removed_on_request(load: Loader) -> None:
    project = load(WEBAPP)
    observed = snapshot(
        project,
        [
            container(project, "db"),
            container(project, "web", 1),
            container(project, "web", 2),
            container(project, "old"),
        ],
    )
    plan = reconcile(project, observed)
    assert not plan
    assert plan.warnings and "shop-old-1" in plan.warnings[0] and "--remove-orphans" in plan.warnings[0]
    removing = reconcile(project, observed, UpOptions(remove_orphans=True))
    assert str(removing) == "Container shop-old-1: Stop (orphan)\nContainer shop-old-1: Remove (orphan)\n"
    # a service disabled by a profile is not an orphan
    assert not reconcile(project, observed, UpOptions(known_services=frozenset({"old"}))).warnings


def test_selected_service_brings_its_dependencies_unless_no_deps(load: Loader) -> None:
    project = load(WEBAPP)
    observed = snapshot(project)
    with_deps = reconcile(project, observed, UpOptions(services=("web",)))
    assert {op.service for op in with_deps.of_kind(Kind.CREATE_CONTAINER)} == {"db", "web"}
    alone = reconcile(project, observed, UpOptions(services=("web",), no_deps=True))
    assert {op.service for op in alone.of_kind(Kind.CREATE_CONTAINER)} == {"web"}
    with pytest.raises(ReconcileError, match="no such service: nope"):
        reconcile(project, observed, UpOptions(services=("nope",)))


def test_images_pulled_when_missing_and_never_policy_fails_clearly(load: Loader) -> None:
    project = load(WEBAPP)
    plan = reconcile(project, snapshot(project, images={"busybox:latest": None}))
    pulls = plan.of_kind(Kind.PULL_IMAGE)
    assert [(op.target, op.cause) for op in pulls] == [("busybox:latest", "image missing")]
    assert "image:busybox:latest" in plan.by_id()["create:shop-db-1"].after
    with pytest.raises(
        ReconcileError, match="service db: image busybox:latest is missing and pull_policy is never"
    ):
        reconcile(project, snapshot(project, images={"busybox:latest": None}), UpOptions(pull="never"))
    assert reconcile(project, snapshot(project), UpOptions(pull="always")).of_kind(Kind.PULL_IMAGE)


def test_built_service_builds_when_missing_or_asked(load: Loader, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "Dockerfile").write_text("FROM busybox:latest\n")
    project = load("name: b\nservices:\n  app:\n    build: .\n")
    missing = reconcile(project, snapshot(project, images={"b-app": None}))
    assert [(op.kind, op.target, op.cause) for op in missing.of_kind(Kind.BUILD_IMAGE)] == [
        (Kind.BUILD_IMAGE, "b-app", "image missing")
    ]
    present = snapshot(project, [container(project, "app")], images={"b-app": "sha256:" + "b" * 64})
    assert not reconcile(project, present)
    assert reconcile(project, present, UpOptions(build="always")).of_kind(Kind.BUILD_IMAGE)
    with pytest.raises(ReconcileError, match="--no-build"):
        reconcile(project, snapshot(project, images={"b-app": None}), UpOptions(build="never"))


def test_restart_true_recreates_dependents_of_a_recreated_service(load: Loader) -> None:
    project = load(
        "name: r\nservices:\n  db: {image: busybox:latest}\n"
        "  web: {image: busybox:latest, depends_on: {db: {condition: service_started, restart: true}}}\n"
    )
    observed = snapshot(project, [container(project, "db", config_hash="old"), container(project, "web")])
    causes = {op.target: op.cause for op in reconcile(project, observed).of_kind(Kind.CREATE_CONTAINER)}
    assert causes == {
        "r-db-1": "recreate: config hash changed",
        "r-web-1": "recreate: dependency db recreated",
    }


def test_engine_without_networks_api_gets_no_network_operations(load: Loader) -> None:
    project = load(WEBAPP)
    plan = reconcile(project, snapshot(project, networks=False))
    assert not plan.of_kind(Kind.CREATE_NETWORK)
    assert plan.of_kind(Kind.CREATE_CONTAINER)


def test_no_start_creates_without_starting(load: Loader) -> None:
    project = load(WEBAPP)
    plan = reconcile(project, snapshot(project), UpOptions(no_start=True))
    assert plan.of_kind(Kind.CREATE_CONTAINER) and not plan.of_kind(Kind.START_CONTAINER, Kind.AWAIT)
