"""The stack reconciler's I/O: observe a stack on a Swarm manager, carry out a plan, wait for convergence.

Everything goes through the Engine API's swarm endpoints (`/services`, `/tasks`, `/networks`, `/secrets`,
`/configs`) with one small request function, so it works against any manager composer can reach.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from typing import Any, Protocol

from composer.errors import ComposerError
from composer.stack.plan import Observed, Operation, StackPlan
from composer.stack.spec import NAMESPACE, Desired


class Requester(Protocol):
    def request(
        self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None
    ) -> Any: ...


def stack_filter(stack: str) -> dict[str, str]:
    return {"filters": json.dumps({"label": [f"{NAMESPACE}={stack}"]})}


def observe(api: Requester, stack: str) -> Observed:
    query = stack_filter(stack)
    return Observed(
        networks={n["Name"]: n for n in api.request("GET", "/networks", query) or ()},
        secrets={s["Spec"]["Name"]: s for s in api.request("GET", "/secrets", query) or ()},
        configs={c["Spec"]["Name"]: c for c in api.request("GET", "/configs", query) or ()},
        services={s["Spec"]["Name"]: s for s in api.request("GET", "/services", query) or ()},
    )


def execute(
    api: Requester, plan: StackPlan, desired: Desired, observed: Observed, say: Callable[[str], None]
) -> list[str]:
    """Carry out the plan in its order; returns the IDs of the services created or updated."""
    ids: dict[str, dict[str, str]] = {
        "secret": {n: s["ID"] for n, s in observed.secrets.items()},
        "config": {n: c["ID"] for n, c in observed.configs.items()},
    }
    changed = []
    for op in plan.operations:
        say(f"{_present(op)} {op.kind} {op.name}")
        if op.verb == "create" and op.kind == "network":
            api.request("POST", "/networks/create", body=desired.networks[op.name])
        elif op.verb == "create" and op.kind in ("secret", "config"):
            spec = getattr(desired, op.kind + "s")[op.name]
            ids[op.kind][op.name] = api.request("POST", f"/{op.kind}s/create", body=spec)["ID"]
        elif op.kind == "service" and op.verb in ("create", "update"):
            spec = _with_ids(desired.services[op.name], ids, api)
            if op.verb == "create":
                changed.append(api.request("POST", "/services/create", body=spec)["ID"])
            else:
                current = observed.services[op.name]
                params = {"version": current["Version"]["Index"]}
                api.request("POST", f"/services/{current['ID']}/update", params, spec)
                changed.append(current["ID"])
        elif op.verb == "remove":
            _remove(api, op, observed)
    return changed


def _present(op: Operation) -> str:
    return {"create": "Creating", "update": "Updating", "remove": "Removing"}[op.verb]


def _with_ids(spec: dict[str, Any], ids: dict[str, dict[str, str]], api: Requester) -> dict[str, Any]:
    """The service spec with the IDs of its secrets and configs (the API wants both name and ID)."""
    spec = copy.deepcopy(spec)
    container = spec["TaskTemplate"]["ContainerSpec"]
    for key, kind in (("Secrets", "secret"), ("Configs", "config")):
        for ref in container.get(key) or ():
            name = ref[f"{kind.capitalize()}Name"]
            if name not in ids[kind]:  # external: look it up by name
                found = api.request("GET", f"/{kind}s", {"filters": json.dumps({"name": [name]})}) or []
                exact = [o for o in found if o["Spec"]["Name"] == name]
                if not exact:
                    raise ComposerError(f"{kind} not found: {name}")
                ids[kind][name] = exact[0]["ID"]
            ref[f"{kind.capitalize()}ID"] = ids[kind][name]
    return spec


def _remove(api: Requester, op: Operation, observed: Observed, timeout: float = 60) -> None:
    """Delete one object; already gone is success. A network is retried while the tasks of just-removed
    services still hold endpoints on it (their containers stop on the workers a moment later)."""
    obj = getattr(observed, op.kind + "s")[op.name]
    ident = obj.get("ID") or obj.get("Id")
    deadline = time.monotonic() + timeout
    while True:
        try:
            api.request("DELETE", f"/{op.kind}s/{ident}")
            return
        except Exception as exc:
            status = getattr(exc, "status_code", None)
            if status == 404:
                return
            if op.kind != "network" or status not in (403, 409, 500) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def remove_stack(api: Requester, stack: str, say: Callable[[str], None]) -> bool:
    """`stack rm`: services first, then secrets, configs and networks. False when nothing was there."""
    observed = observe(api, stack)
    found = False
    for kind in ("service", "secret", "config", "network"):
        for name in sorted(getattr(observed, kind + "s")):
            found = True
            say(f"Removing {kind} {name}")
            _remove(api, Operation("remove", kind, name, "stack rm"), observed)
    return found


# ---- convergence ----

FAILED_STATES = ("failed", "rejected")


def wait_converged(
    api: Requester, service_ids: list[str], timeout: float, say: Callable[[str], None]
) -> None:
    """Wait until every service runs its wanted number of tasks of its newest spec (or a job completed),
    and no update is in progress. A rolled-back update or a timeout raises with the tasks' errors."""
    deadline = time.monotonic() + timeout
    pending = list(service_ids)
    shown: dict[str, str] = {}
    while pending:
        # one round: every pending service and all their tasks in two requests
        ids = json.dumps({"id": pending})
        services = {s["ID"]: s for s in api.request("GET", "/services", {"filters": ids}) or ()}
        wanted = json.dumps({"service": pending, "desired-state": ["running", "shutdown"]})
        tasks: dict[str, list[dict[str, Any]]] = {}
        for task in api.request("GET", "/tasks", {"filters": wanted}) or ():
            tasks.setdefault(task["ServiceID"], []).append(task)
        for ident in list(pending):
            service = services.get(ident)
            if service is None:
                raise ComposerError(f"service {shown.get(ident, ident)} was removed while deploying")
            name = service["Spec"]["Name"]
            status, detail = _convergence(service, tasks.get(ident, []))
            if shown.get(ident) != detail:
                say(f"{name}: {detail}")
                shown[ident] = detail
            if status == "converged":
                pending.remove(ident)
            elif status == "failed":
                raise ComposerError(f"service {name} did not converge: {detail}")
        if pending and time.monotonic() > deadline:
            names = ", ".join(shown.get(i, i) for i in pending)
            raise ComposerError(f"timed out waiting for services to converge: {names}")
        if pending:
            time.sleep(0.5)


def _convergence(service: dict[str, Any], tasks: list[dict[str, Any]]) -> tuple[str, str]:
    update = service.get("UpdateStatus") or {}
    state = update.get("State", "")
    if state in ("rollback_completed", "rollback_paused", "paused"):
        return "failed", f"update {state.replace('_', ' ')}: {update.get('Message', '')}".strip()
    mode = service["Spec"]["Mode"]
    # Tasks of the service's newest spec carry a copy of its task template; older ones are being replaced.
    template = service["Spec"]["TaskTemplate"]
    current = [
        t
        for t in tasks
        if t.get("DesiredState") in ("running", "complete") and _of_template(t.get("Spec"), template)
    ]
    running = [t for t in current if t["Status"]["State"] == "running"]
    errors = sorted(
        {t["Status"].get("Err", "") for t in tasks if t["Status"]["State"] in FAILED_STATES} - {""}
    )
    if "ReplicatedJob" in mode or "GlobalJob" in mode:
        done = [t for t in tasks if t["Status"]["State"] == "complete"]
        want = mode.get("ReplicatedJob", {}).get("TotalCompletions", 1)
        if len(done) >= want:
            return "converged", f"{len(done)}/{want} completed"
        return "pending", f"{len(done)}/{want} completed" + (f" ({errors[-1]})" if errors else "")
    want = mode.get("Replicated", {}).get("Replicas")
    if want is None:  # global: one per eligible node; count what the scheduler made (at least one)
        want = max(1, len(current))
    in_update = state in ("updating", "rollback_started")
    detail = f"{len(running)}/{want} running" + (f", update {state}" if in_update else "")
    if errors:
        detail += f" (last error: {errors[-1]})"
    if len(running) == want and not in_update and state != "rollback_started":
        return "converged", f"{len(running)}/{want} running"
    return "pending", detail


def _of_template(task_spec: dict[str, Any] | None, template: dict[str, Any]) -> bool:
    """Was the task made from this task template? Swarm copies the template into each task but fills some
    defaults only in the service's copy (runtime, restart policy, stop grace period): every setting the
    task has must equal the template's."""
    if not task_spec:
        return False
    for key, value in task_spec.items():
        if key == "ContainerSpec":
            container = template.get("ContainerSpec") or {}
            if any(container.get(k) != v for k, v in value.items()):
                return False
        elif value is not None and template.get(key) != value:
            return False
    return True
