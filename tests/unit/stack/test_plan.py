"""The stack reconciler without a cluster: Compose -> Swarm specs, and the plan against what a manager has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from composer.loader.pipeline import LoadOptions, load_project
from composer.stack.plan import Observed, reconcile
from composer.stack.spec import NAMESPACE, SPEC_HASH, Desired, desired_stack

PROJECT = """
services:
  web:
    image: registry.local/web:1
    command: ["httpd", "-f"]
    environment: {MODE: prod}
    ports: [{target: 80, published: "8080", mode: host}]
    secrets: [{source: token, mode: "0400"}]
    deploy:
      replicas: 3
      endpoint_mode: dnsrr
      update_config: {parallelism: 2, order: start-first, delay: 2s, failure_action: rollback}
      resources: {limits: {cpus: "0.5", memory: 64M}}
      placement: {constraints: ["node.role == worker"], max_replicas_per_node: 1}
    restart: on-failure:3
    build: ./web
    depends_on: [db]
    privileged: true
  db:
    image: registry.local/db:1
    deploy: {mode: global}
secrets:
  token: {environment: TOKEN}
"""


def desired(tmp_path: Path, text: str = PROJECT, token: str = "s3cret") -> Desired:
    (tmp_path / "compose.yaml").write_text(text)
    (tmp_path / "web").mkdir(exist_ok=True)
    loaded = load_project(
        LoadOptions(
            files=[str(tmp_path / "compose.yaml")], environ={"TOKEN": token}, working_dir=str(tmp_path)
        )
    )
    return desired_stack("shop", loaded.project, loaded.environment)


def observed_from(want: Desired) -> Observed:
    """What a manager would report after deploying `want` (its own IDs and versions added)."""
    return Observed(
        networks={n: {"Id": f"id-{n}", "Name": n} for n in want.networks},
        secrets={n: {"ID": f"id-{n}", "Spec": s} for n, s in want.secrets.items()},
        services={n: {"ID": f"id-{n}", "Version": {"Index": 7}, "Spec": s} for n, s in want.services.items()},
    )


def test_service_spec_as_docker_stack_deploy_writes_it(tmp_path: Path) -> None:
    want = desired(tmp_path)
    web: dict[str, Any] = want.services["shop_web"]
    assert web["Labels"][NAMESPACE] == "shop" and web["Labels"][SPEC_HASH]
    container = web["TaskTemplate"]["ContainerSpec"]
    assert container["Args"] == ["httpd", "-f"] and container["Env"] == ["MODE=prod"]
    (secret_name,) = want.secrets
    assert secret_name.startswith("shop_token_")  # content-addressed
    assert container["Secrets"] == [
        {"File": {"Name": "token", "UID": "0", "GID": "0", "Mode": 0o400}, "SecretName": secret_name}
    ]
    assert web["Mode"] == {"Replicated": {"Replicas": 3}}
    assert want.services["shop_db"]["Mode"] == {"Global": {}}
    assert web["EndpointSpec"] == {
        "Mode": "dnsrr",
        "Ports": [{"Protocol": "tcp", "TargetPort": 80, "PublishMode": "host", "PublishedPort": 8080}],
    }
    assert web["UpdateConfig"] == {
        "Parallelism": 2,
        "Delay": 2_000_000_000,
        "FailureAction": "rollback",
        "Order": "start-first",
    }
    assert web["TaskTemplate"]["Resources"] == {"Limits": {"NanoCPUs": 500_000_000, "MemoryBytes": 64 << 20}}
    assert web["TaskTemplate"]["Placement"] == {"Constraints": ["node.role == worker"], "MaxReplicas": 1}
    assert web["TaskTemplate"]["RestartPolicy"] == {"Condition": "on-failure", "MaxAttempts": 3}
    assert web["TaskTemplate"]["Networks"] == [{"Target": "shop_default", "Aliases": ["web"]}]
    assert want.networks["shop_default"]["Driver"] == "overlay"


def test_unsupported_fields_are_named_once(tmp_path: Path) -> None:
    warnings = desired(tmp_path).warnings
    build = "build is not supported by Swarm (build and push the image first (composer build --push))"
    assert f"service web: {build}" in warnings
    assert "service web: depends_on is not supported by Swarm (Swarm starts services in no order)" in warnings
    assert (
        "service web: privileged is not supported by Swarm (Swarm services cannot be privileged)" in warnings
    )
    assert len(warnings) == len(set(warnings)) == 3


def test_first_deploy_creates_everything_in_order(tmp_path: Path) -> None:
    plan = reconcile(desired(tmp_path), Observed())
    assert [(op.verb, op.kind) for op in plan.operations] == [
        ("create", "network"), ("create", "secret"), ("create", "service"), ("create", "service"),
    ]  # fmt: skip


def test_converged_stack_has_an_empty_plan(tmp_path: Path) -> None:
    want = desired(tmp_path)
    plan = reconcile(want, observed_from(want))
    assert not plan and str(plan) == "nothing to do\n"


def test_changed_secret_updates_users_and_removes_the_old_one(tmp_path: Path) -> None:
    before = desired(tmp_path)
    after = desired(tmp_path, token="n3w")
    plan = reconcile(after, observed_from(before))
    lines = str(plan).splitlines()
    (old,), (new,) = before.secrets, after.secrets
    assert lines[0] == f"create secret {new} (missing)"
    assert lines[1].startswith("update service shop_web (spec changed: ContainerSpec.Secrets")
    assert lines[2] == f"remove secret {old} (superseded: no service uses it)"
    assert len(lines) == 3  # db is unchanged


def test_services_not_in_the_project_stay_unless_pruned(tmp_path: Path) -> None:
    full = desired(tmp_path)
    without_db = PROJECT.replace("  db:\n    image: registry.local/db:1\n    deploy: {mode: global}\n", "")
    smaller = desired(tmp_path, without_db.replace("    depends_on: [db]\n", ""))
    assert not reconcile(smaller, observed_from(full))
    pruned = reconcile(smaller, observed_from(full), prune=True)
    assert str(pruned) == "remove service shop_db (not in the project (--prune))\n"
