"""Zero-downtime updates: replace a running container start-first instead of Compose's stop-first.

Decision (pure, used by composer.reconcile): a service is updated start-first when its container runs, it has
a healthcheck, and `deploy.update_config.order` is `start-first` - or, with COMPOSER_UPDATE_ORDER=start-first
(the opt-in default), when the order is not set at all. Replicas go `parallelism` at a time (default 1, 0 =
all) with `delay` between batches. Fixed published host ports can only be held by old and new at once on
composer-engine (engine.network.traffic); elsewhere such a service falls back to stop-first, with a warning.

Execution (one REPLACE_CONTAINER operation, composer.execute): create the new container under Compose's
temporary name `<old id[:12]>_<name>` with the old one's number, start it, wait until it is healthy, then
stop the old one (the engine first takes it out of the published ports' and the service name's rotation and
drains it), remove it and rename the new one to the real name, as Compose's recreate ends. The engine gives
the new container no traffic before it is healthy. If it never gets healthy (unhealthy, exited, or past the
healthcheck's own deadline) it is removed, the old one - never stopped, never renamed - keeps serving, and
`up` fails with the reason (failure_action rollback).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from composer._typecheck import TYPE_CHECKING
from composer.canonical.units import parse_duration
from composer.errors import ComposerError
from composer.model import Service

if TYPE_CHECKING:
    from typing import Any

    from composer.execute import Context
    from composer.plan import Operation

ORDER_ENV = "COMPOSER_UPDATE_ORDER"  # start-first: the default order of services that set none
POLL = 0.1
ENGINE_PLATFORM = "Composer Engine"  # /version Platform.Name of an engine that shares published ports
# Docker's healthcheck defaults, for the deadline of a new container's first healthy probe
DEFAULT_INTERVAL, DEFAULT_TIMEOUT, DEFAULT_RETRIES = 30.0, 30.0, 3
SLACK = 10.0


@dataclass(frozen=True)
class UpdatePolicy:
    """How a service's containers are replaced: how many at once, how far apart."""

    parallelism: int  # containers replaced at once; 0: all
    delay: float  # seconds between batches


def _update_config(svc: Service) -> Mapping[str, Any]:
    return (svc.deploy or {}).get("update_config") or {}


def _seconds(value: Any, default: float = 0.0) -> float:
    return default if value is None else parse_duration(value) / 1e9


def has_healthcheck(svc: Service) -> bool:
    hc = svc.healthcheck
    return (
        hc is not None and not hc.disable and hc.test is not None and bool(hc.test) and hc.test[0] != "NONE"
    )


def wants_start_first(svc: Service, default_order: str | None) -> bool:
    order = _update_config(svc).get("order") or default_order
    return order == "start-first" and has_healthcheck(svc)


def fixed_host_ports(svc: Service) -> bool:
    return any(p.published and "-" not in str(p.published) for p in svc.ports)


def start_first(svc: Service, default_order: str | None, shared_ports: bool) -> tuple[bool, str | None]:
    """(use start-first?, a warning when it was asked for but cannot be honoured here)."""
    if not wants_start_first(svc, default_order):
        return False, None
    if fixed_host_ports(svc) and not shared_ports:
        return False, (
            f"service {svc.name}: start-first update needs composer-engine to hold a published port for the "
            "old and the new container at once; updating stop-first"
        )
    return True, None


def policy(svc: Service) -> UpdatePolicy:
    cfg = _update_config(svc)
    parallelism = cfg.get("parallelism")
    return UpdatePolicy(1 if parallelism is None else int(parallelism), _seconds(cfg.get("delay")))


def health_deadline(svc: Service) -> float:
    """Seconds a new container may take to become healthy: its start period and every retry, plus slack."""
    hc = svc.healthcheck
    assert hc is not None
    interval = _seconds(hc.interval, DEFAULT_INTERVAL)
    timeout = _seconds(hc.timeout, DEFAULT_TIMEOUT)
    retries = hc.retries if hc.retries is not None else DEFAULT_RETRIES
    return _seconds(hc.start_period) + (interval + timeout) * (retries + 1) + SLACK


def engine_shares_ports(client: Any) -> bool:
    """Only composer-engine lets a service's old and new container publish the same host port."""
    try:
        version = client.get("/version") if hasattr(client, "get") else client.version()
    except Exception:  # an engine that cannot say: assume the standard behaviour
        return False
    return bool(((version or {}).get("Platform") or {}).get("Name") == ENGINE_PLATFORM)


# ---- execution -----------------------------------------------------------------------------------------


def replace(op: Operation, ctx: Context, create_as: Any, start: Any) -> None:
    """Run one start-first replacement (see the module docstring). `create_as(op, ctx, name) -> id` and
    `start(op, ctx)` are the executor's own create and start."""
    from dataclasses import replace as with_fields

    from composer.client import engine_errors, is_not_found
    from composer.plan import Kind

    assert ctx.project is not None and op.service is not None and op.container_id is not None
    svc = ctx.project.services[op.service]
    if op.delay:
        time.sleep(op.delay)
    name, old = op.target, op.container_id
    api = ctx.api
    ctx.progress.event("Container", name, "Recreate")
    new: str | None = None
    try:
        # Compose's temporary name for the new container until the old one is gone
        new = create_as(with_fields(op, kind=Kind.CREATE_CONTAINER, recreate=True), ctx, f"{old[:12]}_{name}")
        start(with_fields(op, kind=Kind.START_CONTAINER, container_id=new), ctx)
        _wait_healthy(api, name, new, health_deadline(svc), ctx)
    except ComposerError as exc:
        _roll_back(api, name, new)
        raise ComposerError(
            f"container {name} was not updated: {exc.message}; rolled back, the old container keeps serving"
        ) from exc
    # the new one serves: the engine drains the old one (out of rotation first), then stops it
    grace = op.timeout if op.timeout is not None else 10
    steps: list[tuple[str, Callable[[], object]]] = [
        ("stopping", lambda: api.stop(old, timeout=grace)),
        ("removing", lambda: api.remove_container(old, force=True)),
    ]
    for doing, call in steps:
        try:
            with engine_errors(f"{doing} the replaced container {name}"):
                call()
        except ComposerError as exc:
            if not is_not_found(exc.__cause__ or exc):
                raise
    with engine_errors(f"renaming the new container to {name}"):
        api.rename(new, name)


def _wait_healthy(api: Any, name: str, cid: str, deadline_s: float, ctx: Context) -> None:
    from composer.client import engine_errors
    from composer.waiting import container_ready

    ctx.progress.event("Container", name, "Waiting")
    deadline = time.monotonic() + deadline_s
    while True:
        with engine_errors(f"inspecting container {name}"):
            state = api.inspect_container(cid)["State"]
        if state.get("Status") in ("exited", "dead"):
            raise ComposerError(f"container {name} exited ({state.get('ExitCode')}) before it was healthy")
        if container_ready(name, state):
            ctx.progress.event("Container", name, "Healthy")
            return
        if time.monotonic() > deadline:
            raise ComposerError(f"container {name} did not become healthy within {deadline_s:.0f}s")
        time.sleep(POLL)


def _roll_back(api: Any, name: str, new: str | None) -> None:
    """Remove the new container; the old one never stopped serving and kept its name."""
    from composer.client import is_not_found

    if new is None:
        return
    try:
        api.remove_container(new, force=True)
    except Exception as exc:  # noqa: BLE001 - any engine failure: say which container is left over
        if not is_not_found(exc):
            raise ComposerError(f"rollback: removing the new container of {name} failed: {exc}") from None
