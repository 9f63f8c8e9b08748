"""Pure decisions: (project, observed snapshot, options) -> Plan. No I/O here.

Each container of a service is kept, started, recreated or removed; missing numbers are created
(`project-service-N`); networks and volumes the project lacks are created; images are pulled or built as
`pull_policy`/--pull/--build say. A converged project gives an empty plan, so `up` twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from composer import rollout
from composer.buildcontext import BUILD_CONTEXT_LABEL, changed_files
from composer.diff import changed_fields
from composer.errors import ComposerError
from composer.filerefs import INJECTED_HASH_LABEL
from composer.graph import project_edges, start_levels, with_dependencies
from composer.model import Project, Service, service_config_hash
from composer.netplan import attached, changed_networks, network_change
from composer.observe import Observed, ObservedContainer
from composer.plan import Kind, Operation, Plan
from composer.spec import ProjectMeta, container_config, image_ref, stop_timeout
from composer.stopplan import ORPHAN_WARNING, Builder, DownOptions, plan_down, plan_stop, stop_remove

__all__ = ["DownOptions", "ReconcileError", "UpOptions", "plan_down", "plan_start", "plan_stop", "reconcile"]


class ReconcileError(ComposerError):
    """The project cannot be brought up as asked (missing image with pull_policy never, ...)."""


@dataclass(frozen=True)
class UpOptions:
    """The flags of `up`/`create` that change what is decided."""

    services: tuple[str, ...] = ()  # empty: every service
    no_deps: bool = False
    force_recreate: bool = False
    no_recreate: bool = False
    no_start: bool = False
    remove_orphans: bool = False
    scale: Mapping[str, int] = field(default_factory=dict)
    build: str = "auto"  # auto (build when missing), always (--build), never (--no-build)
    pull: str | None = None  # --pull always|missing|never|build; None: each service's pull_policy
    images_ready: bool = False  # images were pulled/built already: plan no image operations
    timeout: int | None = None
    known_services: frozenset[str] = frozenset()  # every service of the file, profiles included
    injected: Mapping[str, str] = field(default_factory=dict)  # service -> filerefs.content_digest
    update_order: str | None = None  # the order of services that set none (COMPOSER_UPDATE_ORDER)
    shared_ports: bool = False  # the engine holds a published port for old and new at once (rollout)


def selected_services(project: Project, options: UpOptions) -> list[str]:
    if not options.services:
        return list(project.services)
    unknown = [s for s in options.services if s not in project.services]
    if unknown:
        raise ReconcileError(f"no such service: {', '.join(unknown)}")
    return list(options.services) if options.no_deps else with_dependencies(project, options.services)


def _image_op(project: Project, svc: Service, observed: Observed, options: UpOptions) -> Operation | None:
    ref = image_ref(project, svc)
    have = observed.images.get(ref)
    policy = options.pull or svc.pull_policy or "missing"
    if policy == "if_not_present":
        policy = "missing"
    if svc.build is not None and options.build != "never":
        if options.build == "always" or policy == "build":
            return Operation(f"image:{ref}", Kind.BUILD_IMAGE, ref, "--build", service=svc.name)
        if have is None:
            return Operation(f"image:{ref}", Kind.BUILD_IMAGE, ref, "image missing", service=svc.name)
        return None
    if policy == "always":
        return Operation(f"image:{ref}", Kind.PULL_IMAGE, ref, "pull_policy always", service=svc.name)
    if have is not None:
        return None
    if policy == "never" or (svc.build is not None and options.build == "never"):
        raise ReconcileError(
            f"service {svc.name}: image {ref} is missing and "
            + ("--no-build was given" if svc.build is not None else "pull_policy is never")
        )
    return Operation(f"image:{ref}", Kind.PULL_IMAGE, ref, "image missing", service=svc.name)


def _recreate_reason(
    c: ObservedContainer,
    wanted_hash: str,
    image_id: str | None,
    options: UpOptions,
    fields: list[str],
    network: str | None = None,
) -> str | None:
    if options.no_recreate:
        return None
    if options.force_recreate:
        return "--force-recreate"
    if c.config_hash != wanted_hash:
        return "config hash changed" + (f": {', '.join(fields)}" if fields else "")
    if image_id and c.image_id and c.image_id != image_id:
        return "image changed"
    return network


def reconcile(project: Project, observed: Observed, options: UpOptions = UpOptions()) -> Plan:
    """The operations that bring `observed` to `project` (for the selected services)."""
    b = Builder()
    warnings: list[str] = []
    selected = selected_services(project, options)
    edges = project_edges(project)
    used_networks = {k for s in selected for k in project.services[s].networks}
    used_volumes = {
        m.source
        for s in selected
        for m in project.services[s].volumes
        if m.type == "volume" and m.source in project.volumes
    }

    resource_ops: list[str] = []
    changed = changed_networks(project, observed, used_networks)
    if observed.networks is not None:
        for key in [k for k in project.networks if k in used_networks]:
            net = project.networks[key]
            if net.external:
                if not observed.external_networks.get(net.name, True):
                    raise ReconcileError(f"network {net.name} declared as external, but could not be found")
                continue
            if net.name in changed:
                removed = _remove_changed_network(b, project, observed, options, selected, net.name, key)
                resource_ops.append(
                    b.add(
                        Operation(
                            f"network:{key}",
                            Kind.CREATE_NETWORK,
                            net.name,
                            "configuration changed",
                            key=key,
                            after=(removed,),
                        )
                    )
                )
            elif net.name not in observed.networks:
                resource_ops.append(
                    b.add(Operation(f"network:{key}", Kind.CREATE_NETWORK, net.name, "missing", key=key))
                )
    for key in [k for k in project.volumes if k in used_volumes]:
        vol = project.volumes[key]
        if not vol.external and vol.name not in observed.volumes:
            resource_ops.append(
                b.add(Operation(f"volume:{key}", Kind.CREATE_VOLUME, vol.name, "missing", key=key))
            )

    image_ops: dict[str, str] = {}
    for name in [] if options.images_ready else selected:
        op = _image_op(project, project.services[name], observed, options)
        rebuild = _context_changes(observed, name)
        if op is None and rebuild and options.build != "never":
            ref = image_ref(project, project.services[name])
            op = Operation(f"image:{ref}", Kind.BUILD_IMAGE, ref, f"{_files(rebuild)} changed", service=name)
        if op is not None:
            image_ops[name] = b.add(op)

    starts: dict[str, list[str]] = {}  # service -> its start op ids (what dependents wait on)
    recreated: set[str] = set()
    for level in start_levels(project):
        for name in [s for s in level if s in selected]:
            svc = project.services[name]
            _converge_service(
                b, project, observed, options, svc, edges, resource_ops, image_ops, starts, recreated, changed
            )
            if any(b.ops[i].kind is Kind.REPLACE_CONTAINER for i in starts.get(name, [])):
                continue
            _, why_not = rollout.start_first(svc, options.update_order, options.shared_ports)
            if why_not and name in recreated:
                warnings.append(why_not)

    if not options.no_start:
        _await_dependencies(b, project, selected, starts)
    orphans = [
        c
        for c in observed.containers
        if not c.oneoff and c.service not in project.services and c.service not in options.known_services
    ]
    if orphans and options.remove_orphans:
        for c in orphans:
            stop_remove(b, c, "orphan", options.timeout)
    elif orphans:
        warnings.append(ORPHAN_WARNING.format(names=", ".join(sorted(c.name for c in orphans))))
    touched = {op.service for op in b.ops.values() if op.kind is not Kind.AWAIT}
    unchanged = tuple(s for s in selected if s not in touched)
    return Plan(project.name, tuple(b.ops.values()), tuple(warnings), unchanged)


def _converge_service(
    b: Builder,
    project: Project,
    observed: Observed,
    options: UpOptions,
    svc: Service,
    edges: Mapping[str, list[str]],
    resource_ops: list[str],
    image_ops: Mapping[str, str],
    starts: dict[str, list[str]],
    recreated: set[str],
    changed_nets: Mapping[str, str],
) -> None:
    name = svc.name
    want = options.scale.get(name, svc.replicas)
    existing = observed.service_containers(name)
    keep, extra = existing[:want], existing[want:]
    timeout = stop_timeout(svc, options.timeout)
    for c in reversed(extra):
        stop_remove(b, c, f"scale down to {want}", timeout)
    wanted_hash = service_config_hash(project, name)
    image_id = observed.images.get(image_ref(project, svc))
    restarted_by = [
        dep for dep, d in svc.depends_on.items() if d.restart and dep in recreated and not options.no_recreate
    ]
    # dependencies' starts come first: network_mode/volumes_from "service:x" need x's container at create
    resources = [*resource_ops, *([image_ops[name]] if name in image_ops else [])]
    dep_starts = [op for dep in edges.get(name, []) for op in starts.get(dep, [])]
    before = [*resources, *dep_starts]
    # a new container, as Compose v2 creates it: once its dependencies' containers exist (created), not
    # started; its start still waits for theirs. Creates are off each dependency level's critical path.
    deps = set(edges.get(name, []))
    dep_creates = [i for i, op in b.ops.items() if op.kind is Kind.CREATE_CONTAINER and op.service in deps]
    mine: list[str] = []
    start_first, _ = rollout.start_first(svc, options.update_order, options.shared_ports)
    update = rollout.policy(svc)
    replaced: list[str] = []  # REPLACE_CONTAINER ids in order: batches of update.parallelism
    for c in keep:
        fields = _changed(project, observed, svc, c) if c.config_hash != wanted_hash else []
        reason = _recreate_reason(
            c, wanted_hash, image_id, options, fields, network_change(project, observed, svc, c, changed_nets)
        )
        rebuilt = changed_files(c.labels.get(BUILD_CONTEXT_LABEL), observed.contexts.get(name))
        if reason is None and rebuilt and not options.no_recreate and options.build != "never":
            reason = f"rebuild: {_files(rebuilt)} changed"
        if (
            reason is None
            and not options.no_recreate
            and _injected_changed(c, options.injected.get(name, ""))
        ):
            reason = "secret or config content changed"
        if reason is None and restarted_by:
            reason = f"dependency {restarted_by[0]} recreated"
        if reason is not None and start_first and c.running and not options.no_start:
            recreated.add(name)
            size = update.parallelism or len(keep)
            batch = len(replaced) // size
            previous = replaced[(batch - 1) * size : batch * size] if batch else []
            replaced.append(
                b.add(
                    Operation(
                        f"replace:{c.name}",
                        Kind.REPLACE_CONTAINER,
                        c.name,
                        f"start-first update: {reason}",
                        service=name,
                        number=c.number,
                        container_id=c.id,
                        timeout=timeout,
                        delay=update.delay if batch else 0.0,
                        after=(*before, *previous),
                    )
                )
            )
            mine.append(replaced[-1])
        elif reason is not None:
            recreated.add(name)
            removed = stop_remove(b, c, reason, timeout, recreate=True)
            create = b.add(
                Operation(
                    f"create:{c.name}",
                    Kind.CREATE_CONTAINER,
                    c.name,
                    f"recreate: {reason}",
                    service=name,
                    number=c.number,
                    recreate=True,
                    after=(*before, removed),
                )
            )
            if not options.no_start:
                mine.append(_start(b, c.name, name, None, "recreated", (create,)))
        elif not c.running and not options.no_start:
            mine.append(_start(b, c.name, name, c.id, f"{c.state or 'not running'}", tuple(before)))
    numbers = {c.number for c in existing}
    next_number = max(numbers, default=0) + 1
    for i in range(want - len(keep)):
        number = next_number + i
        cname = svc.container_name if svc.container_name and want == 1 else f"{project.name}-{name}-{number}"
        cause = "missing" if not existing else f"scale up to {want}"
        create = b.add(
            Operation(
                f"create:{cname}",
                Kind.CREATE_CONTAINER,
                cname,
                cause,
                service=name,
                number=number,
                after=(*resources, *dep_creates),
            )
        )
        if not options.no_start:
            mine.append(_start(b, cname, name, None, "created", (create, *dep_starts)))
    starts[name] = mine


def _remove_changed_network(
    b: Builder,
    project: Project,
    observed: Observed,
    options: UpOptions,
    selected: list[str],
    name: str,
    key: str,
) -> str:
    """A network whose configuration changed goes after every container on it (they are recreated on
    the new one); containers this `up` does not manage would be cut off, so that is refused."""
    on_it = attached(project, observed, name, key)
    foreign = sorted(c.name for c in on_it if c.oneoff or c.service not in selected)
    if foreign or options.no_recreate:
        why = "--no-recreate was given" if options.no_recreate else f"{', '.join(foreign)} use it"
        raise ReconcileError(
            f"network {name} configuration changed but it cannot be recreated: {why}",
            "run `down` first, or `up` for every service using it",
        )
    after = tuple(
        stop_remove(
            b,
            c,
            f"network {name} configuration changed",
            stop_timeout(project.services[c.service], options.timeout),
            recreate=True,
        )
        for c in on_it
    )
    return b.add(
        Operation(f"rmnet:{name}", Kind.REMOVE_NETWORK, name, "configuration changed", key=key, after=after)
    )


def _context_changes(observed: Observed, service: str) -> list[str]:
    """Files of a built service's context that differ from what its containers were built from."""
    current = observed.contexts.get(service)
    for c in observed.service_containers(service):
        changed = changed_files(c.labels.get(BUILD_CONTEXT_LABEL), current)
        if changed:
            return changed
    return []


def _injected_changed(c: ObservedContainer, wanted: str) -> bool:
    """The environment/content of a secret or config written into the container changed. A container
    without the label (made by Compose, which does not record it) is taken as current."""
    recorded = c.labels.get(INJECTED_HASH_LABEL)
    return bool(wanted) and recorded is not None and recorded != wanted


def _files(paths: list[str]) -> str:
    return ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _changed(project: Project, observed: Observed, svc: Service, c: ObservedContainer) -> list[str]:
    """The fields that differ from the old container, when observe inspected it."""
    detail = observed.details.get(c.id)
    if detail is None:
        return []
    wanted = container_config(
        project,
        svc,
        c.number,
        config_hash="",
        image_id="",
        meta=ProjectMeta(""),
        networks_supported=observed.networks is not None,
        resolve_service=lambda name: name,
    )
    return changed_fields(wanted, detail)


def _start(b: Builder, cname: str, service: str, cid: str | None, cause: str, after: tuple[str, ...]) -> str:
    return b.add(
        Operation(
            f"start:{cname}",
            Kind.START_CONTAINER,
            cname,
            cause,
            service=service,
            container_id=cid,
            after=after,
        )
    )


def _await_dependencies(
    b: Builder, project: Project, selected: list[str], starts: dict[str, list[str]]
) -> None:
    """Each start of a dependent waits for its depends_on conditions (only where something starts)."""
    for name in selected:
        mine = starts.get(name) or []
        if not mine:
            continue
        awaits: list[str] = []
        for dep, d in project.services[name].depends_on.items():
            if dep not in project.services or dep not in selected:
                continue
            awaits.append(
                b.add(
                    Operation(
                        f"await:{dep}:{d.condition}",
                        Kind.AWAIT,
                        dep,
                        f"needed by {name}",
                        service=dep,
                        condition=d.condition,
                        required=d.required,
                        after=tuple(starts.get(dep) or ()),
                    )
                )
            )
        if awaits:
            for op_id in mine:
                op = b.ops[op_id]
                b.ops[op_id] = Operation(**{**op.__dict__, "after": (*op.after, *awaits)})


def plan_start(project: Project, observed: Observed, services: Iterable[str] = ()) -> Plan:
    """Start the existing, not running containers of `services` (all when empty) in dependency order,
    each waiting for its dependencies' conditions; a service without any container is an error."""
    wanted = list(services) or list(project.services)
    unknown = [s for s in wanted if s not in project.services]
    if unknown:
        raise ReconcileError(f"no such service: {', '.join(unknown)}")
    b = Builder()
    starts: dict[str, list[str]] = {}
    edges = project_edges(project)
    for level in start_levels(project):
        for name in [s for s in level if s in wanted]:
            containers = observed.service_containers(name)
            if not containers:
                raise ReconcileError(f"service {name!r} has no container to start")
            before = tuple(op for dep in edges.get(name, []) for op in starts.get(dep, []))
            starts[name] = [
                _start(b, c.name, name, c.id, c.state or "not running", before)
                for c in containers
                if not c.running
            ]
    _await_dependencies(b, project, wanted, starts)
    return Plan(project.name, tuple(b.ops.values()))
