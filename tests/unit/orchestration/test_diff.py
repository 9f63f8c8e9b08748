"""changed_fields(): names the Compose fields behind a config-hash change, from an old container's inspect."""

from __future__ import annotations

from collections.abc import Callable

from composer.diff import changed_fields
from composer.model import Project
from composer.reconcile import reconcile
from composer.spec import ProjectMeta, container_config
from tests.unit.orchestration.conftest import container, snapshot

Loader = Callable[[str], Project]
BASE = (
    "name: d\nservices:\n  web:\n    image: busybox:latest\n    command: sleep 1\n    environment: {A: '1'}\n"
)


def _inspect(project: Project) -> dict:  # type: ignore[type-arg]
    body = container_config(
        project,
        project.services["web"],
        1,
        config_hash="",
        image_id="",
        meta=ProjectMeta(""),
        networks_supported=True,
    )
    config = {k: v for k, v in body.items() if k != "HostConfig"}
    config["Env"] = [*body["Env"], "PATH=/bin"]  # the image adds its own
    return {"Config": config, "HostConfig": body["HostConfig"]}


def test_same_config_has_no_changed_fields(load: Loader) -> None:
    project = load(BASE)
    wanted = container_config(
        project,
        project.services["web"],
        1,
        config_hash="",
        image_id="",
        meta=ProjectMeta(""),
        networks_supported=True,
    )
    assert changed_fields(wanted, _inspect(project)) == []


def test_command_and_environment_named(load: Loader) -> None:
    old = _inspect(load(BASE))
    new = load(BASE.replace("sleep 1", "sleep 2").replace("'1'", "'2'") + "    ports: ['80']\n")
    wanted = container_config(
        new,
        new.services["web"],
        1,
        config_hash="",
        image_id="",
        meta=ProjectMeta(""),
        networks_supported=True,
    )
    assert changed_fields(wanted, old) == ["command", "environment", "ports"]


def test_dry_run_cause_names_the_fields(load: Loader) -> None:
    old_project = load(BASE)
    inspect = _inspect(old_project)
    new = load(BASE.replace("sleep 1", "sleep 2"))
    stale = container(new, "web", config_hash="old")
    observed = snapshot(new, [stale])
    observed = type(observed)(**{**observed.__dict__, "details": {stale.id: inspect}})
    assert "Container d-web-1: Create (recreate: config hash changed: command)\n" in str(
        reconcile(new, observed)
    )
