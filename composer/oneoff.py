"""A one-off container of a service (`run`): its dependencies brought up, its container body built from
the service with the run's overrides. The CLI's `run` and the Python API's `Project.run` share this;
attaching a terminal is the CLI's part.

    oneoff = OneOff(command=("echo", "hi"), detach=False)
    prepare(session, "web", oneoff)              # networks, volumes, image, dependencies
    body = container_body(session, "web", oneoff)
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from composer.errors import ComposerError

if TYPE_CHECKING:
    from composer.session import Session


@dataclass(frozen=True)
class OneOff:
    command: tuple[str, ...] = ()  # empty: the service's command
    entrypoint: str | None = None  # shell-split, as `--entrypoint`
    env: tuple[str, ...] = ()  # KEY=VAL, or KEY to pass the caller's value
    labels: Mapping[str, str] = field(default_factory=dict)
    user: str | None = None
    workdir: str | None = None
    service_ports: bool = False  # publish the service's ports (else none)
    publish: tuple[str, ...] = ()  # -p [[ip:]host:]container[/proto]
    volumes: tuple[str, ...] = ()  # -v SOURCE:TARGET[:MODE], relative sources from the project dir
    detach: bool = False
    tty: bool = False
    no_deps: bool = False
    remove_orphans: bool = False
    build: bool = False
    quiet_pull: bool = False


def prepare(session: Session, service: str, oneoff: OneOff) -> None:
    """Networks, volumes, the service's image and (unless no_deps) its dependencies, through the
    reconciler; the service's own containers are left alone."""
    from composer.execute import Context, execute
    from composer.plan import Kind, Plan
    from composer.progress import Progress
    from composer.reconcile import UpOptions, reconcile

    observed = session.observe()
    upopts = UpOptions(
        services=(service,),
        no_deps=oneoff.no_deps,
        remove_orphans=oneoff.remove_orphans,
        build="always" if oneoff.build else "auto",
        known_services=session.known_services,
        injected=session.injected_digests,
    )
    plan = reconcile(session.project, observed, upopts)
    mine = (Kind.CREATE_CONTAINER, Kind.START_CONTAINER, Kind.STOP_CONTAINER, Kind.REMOVE_CONTAINER)
    kept = tuple(op for op in plan.operations if not (op.service == service and op.kind in mine))
    if not kept:
        return
    ctx = Context(
        api=session.engine.api,
        project=session.project,
        progress=Progress(session.options.progress, ansi=session.options.ansi),
        meta=session.meta,
        networks_supported=observed.networks is not None,
        quiet_pull=oneoff.quiet_pull,
    )
    execute(Plan(plan.project, kept), ctx)


def _env_item(item: str, environ: Mapping[str, str]) -> str | None:
    """KEY=VAL as is; a bare KEY takes the caller's value (and is dropped when unset), as docker does."""
    if "=" in item:
        return item
    value = environ.get(item)
    return None if value is None else f"{item}={value}"


def _first_container(session: Session, service: str) -> str:
    """The id of `service`'s first container (volumes_from, network_mode "service:x" of a one-off)."""
    from composer import labels as L
    from composer.client import engine_errors

    with engine_errors(f"looking up service {service}"):
        found = session.engine.api.containers(all=True, filters=L.service_filter(session.name, service))
    if not found:
        raise ComposerError(f"service {service} has no container")
    return str(sorted(found, key=lambda c: L.number_of(c.get("Labels") or {}))[0]["Id"])


def container_body(session: Session, service: str, oneoff: OneOff) -> dict[str, Any]:
    """The create body of the one-off container (labelled oneoff, the service's config otherwise)."""
    from composer import labels as L
    from composer.client import engine_errors
    from composer.model import service_config_hash
    from composer.spec import container_config, image_ref

    project = session.project
    svc = project.services[service]
    ref = image_ref(project, svc)
    with engine_errors(f"service {service}: image {ref}"):
        image_id = str(session.engine.api.inspect_image(ref)["Id"])
    body = container_config(
        project,
        svc,
        1,
        config_hash=service_config_hash(project, service),
        image_id=image_id,
        meta=session.meta,
        networks_supported=True,
        resolve_service=lambda name: _first_container(session, name),
    )
    host: dict[str, Any] = body.setdefault("HostConfig", {})
    labels: dict[str, str] = body["Labels"]
    labels[L.ONEOFF] = L.TRUE
    labels.update(oneoff.labels)
    if oneoff.command:
        body["Cmd"] = list(oneoff.command)
    if oneoff.entrypoint is not None:
        body["Entrypoint"] = shlex.split(oneoff.entrypoint)
        if not oneoff.command:
            body.pop("Cmd", None)  # a new entrypoint does not inherit the service's command (docker run)
    env = list(body.get("Env") or [])
    env += [e for e in (_env_item(i, session.options.environ) for i in oneoff.env) if e]
    body["Env"] = env
    if oneoff.user:
        body["User"] = oneoff.user
    if oneoff.workdir:
        body["WorkingDir"] = oneoff.workdir
    if not oneoff.service_ports:
        host["PortBindings"] = {}
    for spec in oneoff.publish:
        _publish(body, host, spec)
    for volume in oneoff.volumes:
        source, sep, rest = volume.partition(":")
        if sep and source.startswith("."):
            source = os.path.normpath(os.path.join(session.loaded.working_dir, source))
        host.setdefault("Binds", []).append(f"{source}{sep}{rest}")
    host["RestartPolicy"] = {}
    attached = not oneoff.detach
    body.update(
        Tty=oneoff.tty and attached,
        OpenStdin=attached,
        StdinOnce=attached,
        AttachStdin=attached,
        AttachStdout=attached,
        AttachStderr=attached,
    )
    return body


def create(
    session: Session, service: str, name: str, body: dict[str, Any], *, warn: Callable[[str], None]
) -> str:
    """Create the one-off container (and connect the networks an older engine takes only after create);
    the service's secret/config warnings go to `warn`. Returns its id."""
    from composer import filerefs
    from composer.client import engine_errors
    from composer.execute import api_version, connect, endpoints_connected_after_create

    api = session.engine.api
    for message in filerefs.warnings(session.project, session.project.services[service]):
        warn(message)
    with engine_errors(f"creating container {name}"):
        later = endpoints_connected_after_create(api_version(api), body)
        cid = str(api.create_container_from_config(body, name=name)["Id"])
        for network, endpoint in later.items():
            connect(api, network, cid, endpoint)
    return cid


def inject(session: Session, service: str, name: str, cid: str) -> None:
    """Write the service's secrets and configs into the created container, before it starts."""
    from composer import filerefs
    from composer.client import engine_errors

    svc = session.project.services[service]
    files = filerefs.injected_files(session.project, svc, session.loaded.environment)
    with engine_errors(f"copying secrets and configs into container {name}"):
        filerefs.write_into(session.engine.api, cid, files)


def _publish(body: dict[str, Any], host: dict[str, Any], spec: str) -> None:
    """-p [[ip:]host:]container[/proto]"""
    port, _, proto = spec.partition("/")
    parts = port.rsplit(":", 2)
    container_port = f"{parts[-1]}/{proto or 'tcp'}"
    if not parts[-1].isdigit():
        raise ComposerError(f"invalid --publish value {spec!r}")
    binding = {"HostIp": parts[0] if len(parts) == 3 else "", "HostPort": parts[-2] if len(parts) > 1 else ""}
    body.setdefault("ExposedPorts", {})[container_port] = {}
    host.setdefault("PortBindings", {}).setdefault(container_port, []).append(binding)


def split_labels(items: Sequence[str]) -> dict[str, str]:
    """KEY=VAL items as a mapping (a later key wins)."""
    out: dict[str, str] = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = value
    return out
