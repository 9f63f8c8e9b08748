"""The stack reconciler's decisions, without I/O: what the manager has (by the stack label) against what the
project wants -> ordered operations, each with its cause. A converged stack gives an empty plan.

Order: networks, secrets and configs first (services refer to them), then services, then what nothing uses
any more: pruned services (`--prune`), superseded secrets/configs, networks of no service.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from composer.stack.spec import SPEC_HASH, Desired


@dataclass(frozen=True)
class Observed:
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> network
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> secret
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> service


@dataclass(frozen=True)
class Operation:
    verb: str  # create | update | remove
    kind: str  # network | secret | config | service
    name: str
    cause: str

    def __str__(self) -> str:
        return f"{self.verb} {self.kind} {self.name} ({self.cause})"


@dataclass(frozen=True)
class StackPlan:
    operations: tuple[Operation, ...]

    def __str__(self) -> str:
        return "".join(f"{op}\n" for op in self.operations) or "nothing to do\n"

    def __bool__(self) -> bool:
        return bool(self.operations)


def reconcile(desired: Desired, observed: Observed, *, prune: bool = False) -> StackPlan:
    ops: list[Operation] = []
    for kind in ("network", "secret", "config"):
        want = getattr(desired, kind + "s")
        have = getattr(observed, kind + "s")
        ops += [Operation("create", kind, name, "missing") for name in sorted(want) if name not in have]
    for name, spec in sorted(desired.services.items()):
        current = observed.services.get(name)
        if current is None:
            ops.append(Operation("create", "service", name, "missing"))
            continue
        labels = current.get("Spec", {}).get("Labels") or {}
        if labels.get(SPEC_HASH) != spec["Labels"][SPEC_HASH]:
            ops.append(
                Operation("update", "service", name, f"spec changed: {_changed(spec, current['Spec'])}")
            )
    kept = dict(desired.services)
    for name in sorted(set(observed.services) - set(desired.services)):
        if prune:
            ops.append(Operation("remove", "service", name, "not in the project (--prune)"))
        else:
            kept[name] = observed.services[name]["Spec"]
    for kind in ("secret", "config"):
        used = _references(kept.values(), kind)
        for name in sorted(getattr(observed, kind + "s")):
            if name not in getattr(desired, kind + "s") and name not in used:
                ops.append(Operation("remove", kind, name, "superseded: no service uses it"))
    wanted_networks = set(desired.networks) | {
        n["Target"] for s in kept.values() for n in s.get("TaskTemplate", {}).get("Networks") or ()
    }
    ops += [
        Operation("remove", "network", name, "no service uses it")
        for name in sorted(set(observed.networks) - wanted_networks)
        if prune
    ]
    return StackPlan(tuple(ops))


def _references(specs: Iterable[dict[str, Any]], kind: str) -> set[str]:
    key, name_key = ("Secrets", "SecretName") if kind == "secret" else ("Configs", "ConfigName")
    return {
        ref[name_key]
        for spec in specs
        for ref in spec.get("TaskTemplate", {}).get("ContainerSpec", {}).get(key) or ()
    }


def _changed(want: dict[str, Any], have: dict[str, Any]) -> str:
    """Which parts of the spec differ (Swarm fills in defaults, so this only names the cause)."""
    parts = []
    for key in ("TaskTemplate", "Mode", "EndpointSpec", "UpdateConfig", "RollbackConfig", "Labels"):
        want_part, have_part = want.get(key), have.get(key)
        if key == "TaskTemplate" and isinstance(want_part, dict) and isinstance(have_part, dict):
            sub = [k for k in want_part if want_part[k] != have_part.get(k) and k != "ForceUpdate"]
            parts += [f"TaskTemplate.{k}" for k in sub if k != "ContainerSpec"]
            if "ContainerSpec" in sub:
                inner_want, inner_have = want_part["ContainerSpec"], have_part.get("ContainerSpec") or {}
                parts += [f"ContainerSpec.{k}" for k in inner_want if inner_want[k] != inner_have.get(k)]
        elif key != "Labels" and want_part is not None and want_part != have_part:
            parts.append(key)
    return ", ".join(parts) or "labels"
