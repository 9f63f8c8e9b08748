"""Pure decisions for stopping and removing: `stop`, `down`, and the stop/remove steps of `up` (recreate,
scale down, orphans): dependents are handled before the services they depend on. No I/O here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from composer.graph import project_edges
from composer.labels import DEPENDS_ON as DEPENDS_ON_LABEL
from composer.model import Project
from composer.observe import Observed, ObservedContainer
from composer.plan import Kind, Operation, Plan
from composer.spec import image_ref, stop_timeout


@dataclass(frozen=True)
class DownOptions:
    """The flags of `down` that change what is removed."""

    remove_orphans: bool = False
    volumes: bool = False
    rmi: str | None = None  # local | all
    timeout: int | None = None
    known_services: frozenset[str] = frozenset()


ORPHAN_WARNING = (
    "Found orphan containers ({names}) for this project. If you removed or renamed this service in your "
    "compose file, you can run this command with the --remove-orphans flag to clean it up."
)


class Builder:
    def __init__(self) -> None:
        self.ops: dict[str, Operation] = {}

    def add(self, op: Operation) -> str:
        if op.id not in self.ops:
            self.ops[op.id] = op
        return op.id


def stop_remove(
    b: Builder,
    c: ObservedContainer,
    cause: str,
    timeout: int | None,
    after: Iterable[str] = (),
    *,
    remove_volumes: bool = False,
    recreate: bool = False,
) -> str:
    """Stop (when running) then remove; returns the id of the remove operation."""
    deps = tuple(after)
    if c.running:
        deps = (
            b.add(
                Operation(
                    f"stop:{c.id}",
                    Kind.STOP_CONTAINER,
                    c.name,
                    cause,
                    service=c.service,
                    container_id=c.id,
                    timeout=timeout,
                    recreate=recreate,
                    after=deps,
                )
            ),
        )
    return b.add(
        Operation(
            f"remove:{c.id}",
            Kind.REMOVE_CONTAINER,
            c.name,
            cause,
            service=c.service,
            container_id=c.id,
            remove_volumes=remove_volumes,
            recreate=recreate,
            after=deps,
        )
    )


def ordered_stops(
    b: Builder,
    project: Project | None,
    targets: list[ObservedContainer],
    cause: Mapping[str, str],
    timeout: int | None,
    *,
    remove: bool,
    remove_volumes: bool = False,
) -> list[str]:
    """Stop (and remove) `targets` with every service's dependents stopped before the service itself is:
    a dependency's stop waits for its dependents' stops, not for their removals, which run meanwhile.
    Returns the ids of the last operation per container."""
    dependents: dict[str, set[str]] = {}
    if project is not None:
        for svc, deps in project_edges(project).items():
            for dep in deps:
                dependents.setdefault(dep, set()).add(svc)
    for c in targets:  # the labels also hold the dependency record (a project whose file is gone)
        for item in filter(None, c.labels.get(DEPENDS_ON_LABEL, "").split(",")):
            dependents.setdefault(item.split(":")[0], set()).add(c.service)
    by_service: dict[str, list[ObservedContainer]] = {}
    for c in targets:
        by_service.setdefault(c.service, []).append(c)
    done: dict[str, list[str]] = {}  # service -> the operations after which its containers are stopped
    last: list[str] = []

    def visit(service: str, seen: frozenset[str]) -> list[str]:
        if service in done:
            return done[service]
        first: list[str] = []
        for dependent in sorted(dependents.get(service, ())):
            if dependent not in seen:
                first += visit(dependent, seen | {dependent})
        svc = project.services.get(service) if project else None
        wait = stop_timeout(svc, timeout)
        ids = []
        for c in by_service.get(service, []):
            if remove:
                last.append(
                    stop_remove(b, c, cause.get(c.id, "down"), wait, first, remove_volumes=remove_volumes)
                )
                if c.running:
                    ids.append(f"stop:{c.id}")
            elif c.running:
                ids.append(
                    b.add(
                        Operation(
                            f"stop:{c.id}",
                            Kind.STOP_CONTAINER,
                            c.name,
                            cause.get(c.id, "stop"),
                            service=c.service,
                            container_id=c.id,
                            timeout=wait,
                            after=tuple(first),
                        )
                    )
                )
        done[service] = ids
        if not remove:
            last.extend(ids)
        return ids

    for service in sorted(by_service):
        visit(service, frozenset({service}))
    return last


def plan_stop(
    project: Project | None, observed: Observed, services: Iterable[str] = (), timeout: int | None = None
) -> Plan:
    """Stop the running containers of `services` (all when empty), dependents first."""
    wanted = set(services)
    targets = [c for c in observed.containers if not c.oneoff and (not wanted or c.service in wanted)]
    b = Builder()
    ordered_stops(b, project, targets, {}, timeout, remove=False)
    return Plan(observed.project, tuple(b.ops.values()))


def plan_down(project: Project | None, observed: Observed, options: DownOptions = DownOptions()) -> Plan:
    """Stop and remove the containers (dependents first), then networks, volumes (-v), images (--rmi)."""
    b = Builder()
    warnings: list[str] = []
    known = set(options.known_services) | set(project.services if project else ())
    ours = [c for c in observed.containers if c.service in known and not c.oneoff]
    orphans = [c for c in observed.containers if c not in ours]
    if orphans and not options.remove_orphans:
        warnings.append(ORPHAN_WARNING.format(names=", ".join(sorted(c.name for c in orphans))))
    targets = ours + (orphans if options.remove_orphans else [])
    causes = {c.id: "orphan" for c in orphans}
    after = tuple(
        ordered_stops(
            b, project, targets, causes, options.timeout, remove=True, remove_volumes=options.volumes
        )
    )
    networks = observed.networks or {}
    for net in sorted(networks.values(), key=lambda n: n.name):
        b.add(Operation(f"rmnet:{net.name}", Kind.REMOVE_NETWORK, net.name, "down", key=net.key, after=after))
    if options.volumes:
        for vol in sorted(observed.volumes.values(), key=lambda v: v.name):
            b.add(
                Operation(
                    f"rmvol:{vol.name}", Kind.REMOVE_VOLUME, vol.name, "down -v", key=vol.key, after=after
                )
            )
    if options.rmi and project is not None:
        for built in project.services.values():
            if options.rmi == "all" or not built.image:
                ref = image_ref(project, built)
                if observed.images.get(ref):
                    b.add(
                        Operation(f"rmi:{ref}", Kind.REMOVE_IMAGE, ref, f"--rmi {options.rmi}", after=after)
                    )
    return Plan(observed.project, tuple(b.ops.values()), tuple(warnings))
