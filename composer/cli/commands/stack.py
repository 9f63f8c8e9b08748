"""Deploy the project to a Docker Swarm cluster and manage it there.

Usage:
  stack deploy [options] [-c FILE]... STACK
  stack ps [--no-trunc] [-q] STACK
  stack services [-q] STACK
  stack logs [--tail N] STACK
  stack rm STACK...

Options:
  -c, --compose-file FILE  Path to a Compose file (default: the project's, as -f gives it)
  --prune                  Remove services that are no longer in the project
  -d, --detach             Exit at once instead of waiting for the services to converge (default;
                           give --detach=false to wait, showing progress, and fail with the tasks' errors)
  --timeout SECONDS        With --detach=false: how long to wait for convergence [default: 300]
  -q, --quiet              Only show IDs (ps, services); no progress (deploy)
  --no-trunc               Do not truncate output
  --tail N                 Lines to show from the end of each service's logs [default: all]

The stack's objects are Swarm services, overlay networks, secrets and configs named <STACK>_<name> and
labelled com.docker.stack.namespace=<STACK>, as `docker stack deploy` makes them; secrets and configs carry
a digest of their content in their name so a change rolls out. Re-deploying an unchanged project does
nothing; `composer --dry-run stack deploy` prints the plan with a cause per operation.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from composer.cli.options import GlobalOptions
from composer.errors import ComposerError

SUPPORTS_DRY_RUN = True


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.parsing import parse_command

    wait = any(a in ("--detach=false", "-d=false") for a in argv)
    argv = [a for a in argv if a not in ("--detach=false", "-d=false", "--detach=true", "-d=true")]
    args = parse_command(__doc__ or "", argv)
    if args["deploy"]:
        return _deploy(args, options, wait=wait)
    api = _requester(options)
    stack = args["STACK"][0]
    if args["ps"]:
        return _ps(api, stack, args)
    if args["services"]:
        return _services(api, stack, args)
    if args["logs"]:
        return _logs(api, stack, args["--tail"])
    return _rm(api, args["STACK"])


def _requester(options: GlobalOptions) -> Any:
    from composer.session import connect

    return connect(options).client  # any endpoint: unix, tcp+TLS, ssh, a docker context


def _errors(doing: str) -> Any:
    from composer.client import engine_errors

    return engine_errors(doing)


def _swarm_manager_check(api: Any) -> None:
    info = api.request("GET", "/info")
    swarm = info.get("Swarm") or {}
    if not swarm.get("ControlAvailable"):
        raise ComposerError(
            "this node is not a swarm manager",
            hint="run stack commands against a manager (-H/DOCKER_HOST), or `docker swarm init` one",
        )


def _deploy(args: dict[str, Any], options: GlobalOptions, *, wait: bool) -> int:
    from composer.presenter import out, warn
    from composer.session import load
    from composer.stack.apply import execute, observe, wait_converged
    from composer.stack.plan import reconcile
    from composer.stack.spec import desired_stack

    stack = args["STACK"][0]
    if args["--compose-file"]:
        options = dataclasses.replace(options, files=tuple(args["--compose-file"]))
    loaded = load(options)
    desired = desired_stack(stack, loaded.project, loaded.environment)
    for line in desired.warnings:
        warn(line)
    api = _requester(options)
    with _errors(f"deploying stack {stack}"):
        _swarm_manager_check(api)
        _warn_without_ipvs(api, desired, warn)
        observed = observe(api, stack)
        plan = reconcile(desired, observed, prune=bool(args["--prune"]))
        if options.dry_run:
            out(str(plan))
            return 0
        say = (lambda _: None) if args["--quiet"] else out
        changed = execute(api, plan, desired, observed, say)
        if wait and changed:
            wait_converged(api, changed, float(args["--timeout"]), say)
    return 0


def _warn_without_ipvs(api: Any, desired: Any, warn: Any) -> None:
    """Swarm's VIPs and ingress routing mesh need IPVS in the nodes' kernels; without it, say what fails."""
    import os

    if os.path.exists("/proc/net/ip_vs") or not _engine_is_local(api):
        return
    for name, spec in desired.services.items():
        endpoint = spec.get("EndpointSpec") or {}
        if endpoint.get("Mode") == "vip":
            warn(
                f"service {name}: no IPVS in this kernel, its virtual IP will not balance: "
                "use endpoint_mode: dnsrr"
            )
        if any(
            p.get("PublishMode") == "ingress" and p.get("PublishedPort") for p in endpoint.get("Ports") or ()
        ):
            warn(
                f"service {name}: no IPVS in this kernel, ingress ports will not answer: "
                "use ports with mode: host"
            )


def _engine_is_local(api: Any) -> bool:
    return bool(api.endpoint.scheme == "unix")  # a unix socket: the manager runs on this kernel


def _ps(api: Any, stack: str, args: dict[str, Any]) -> int:
    from composer.presenter import lines
    from composer.stack.apply import stack_filter

    with _errors(f"listing tasks of stack {stack}"):
        services = {s["ID"]: s["Spec"]["Name"] for s in api.request("GET", "/services", stack_filter(stack))}
        if not services:
            raise ComposerError(f"nothing found in stack: {stack}")
        tasks = api.request("GET", "/tasks", {"filters": json.dumps({"service": list(services)})})
        nodes = {n["ID"]: n["Description"]["Hostname"] for n in api.request("GET", "/nodes")}
    tasks.sort(key=lambda t: (services.get(t["ServiceID"], ""), t.get("Slot") or 0, t.get("CreatedAt", "")))
    trunc = not args["--no-trunc"]
    if args["--quiet"]:
        lines(t["ID"][:25] if trunc else t["ID"] for t in tasks)
        return 0
    rows = [("ID", "NAME", "IMAGE", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR")]
    for t in tasks:
        name = services.get(t["ServiceID"], t["ServiceID"])
        slot = t.get("Slot")
        image = t["Spec"]["ContainerSpec"]["Image"]
        rows.append(
            (
                t["ID"][:12] if trunc else t["ID"],
                f"{name}.{slot}" if slot else f"{name}.{t.get('NodeID', '')[:25]}",
                image.split("@")[0] if trunc else image,
                nodes.get(t.get("NodeID", ""), ""),
                t["DesiredState"].capitalize(),
                t["Status"]["State"].capitalize(),
                t["Status"].get("Err", ""),
            )
        )
    lines(_table(rows))
    return 0


def _services(api: Any, stack: str, args: dict[str, Any]) -> int:
    from composer.presenter import lines
    from composer.stack.apply import stack_filter

    with _errors(f"listing services of stack {stack}"):
        services = api.request("GET", "/services", {**stack_filter(stack), "status": "true"})
    if not services:
        raise ComposerError(f"nothing found in stack: {stack}")
    services.sort(key=lambda s: s["Spec"]["Name"])
    if args["--quiet"]:
        lines(s["ID"] for s in services)
        return 0
    rows = [("ID", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS")]
    for s in services:
        mode = next(iter(s["Spec"]["Mode"]), "replicated").lower().replace("job", "-job")
        status = s.get("ServiceStatus") or {}
        replicas = f"{status.get('RunningTasks', 0)}/{status.get('DesiredTasks', 0)}"
        ports = ", ".join(
            f"*:{p.get('PublishedPort')}->{p['TargetPort']}/{p['Protocol']}"
            for p in (s.get("Endpoint", {}).get("Ports") or ())
        )
        rows.append(
            (
                s["ID"][:12],
                s["Spec"]["Name"],
                mode,
                replicas,
                s["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"].split("@")[0],
                ports,
            )
        )
    lines(_table(rows))
    return 0


def _logs(api: Any, stack: str, tail: str) -> int:
    """Every service's logs, each line prefixed with the service name, as `docker service logs` shows them."""
    from composer.presenter import out
    from composer.stack.apply import stack_filter

    with _errors(f"reading logs of stack {stack}"):
        services = api.request("GET", "/services", stack_filter(stack))
        if not services:
            raise ComposerError(f"nothing found in stack: {stack}")
        for s in sorted(services, key=lambda s: s["Spec"]["Name"]):
            raw = api.request(
                "GET",
                f"/services/{s['ID']}/logs",
                {"stdout": "1", "stderr": "1", "tail": tail},
                raw_reply=True,
            )
            for line in _demux(raw).splitlines():
                out(f"{s['Spec']['Name']}  | {line}")
    return 0


def _demux(raw: bytes) -> str:
    """The multiplexed stdout/stderr stream of a non-TTY service as text."""
    chunks, pos = [], 0
    while pos + 8 <= len(raw):
        size = int.from_bytes(raw[pos + 4 : pos + 8], "big")
        chunks.append(raw[pos + 8 : pos + 8 + size])
        pos += 8 + size
    return b"".join(chunks).decode(errors="replace")


def _rm(api: Any, stacks: list[str]) -> int:
    from composer.presenter import out, warn
    from composer.stack.apply import remove_stack

    status = 0
    for stack in stacks:
        with _errors(f"removing stack {stack}"):
            if not remove_stack(api, stack, out):
                warn(f"nothing found in stack: {stack}")
                status = 1
    return status


def _table(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
