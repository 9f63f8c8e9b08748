"""Run a one-off command on a service.

Usage:
  run [options] [-e KEY=VAL]... [-l KEY=VAL]... [-p PUBLISH]... [-v VOLUME]... SERVICE [COMMAND] [ARGS...]

Options:
  -d, --detach             Run container in background and print its name
  --name NAME              Assign a name to the container
  --entrypoint CMD         Override the entrypoint of the image
  -e, --env KEY=VAL        Set environment variables (repeatable)
  -l, --label KEY=VAL      Add or override a label (repeatable)
  -u, --user USER          Run as specified username or uid
  -w, --workdir DIR        Working directory inside the container
  --no-deps                Don't start linked services
  --rm                     Automatically remove the container when it exits
  -p, --publish PUBLISH    Publish a container's port(s) to the host (repeatable)
  --service-ports          Run command with all service's ports enabled and mapped to the host
  -v, --volume VOLUME      Bind mount a volume (repeatable)
  -T, --no-TTY             Disable pseudo-TTY allocation (default: a TTY when stdin is a terminal)
  --build                  Build image before starting container
  --quiet-pull             Pull without printing progress information
  --remove-orphans         Remove containers for services not defined in the Compose file
"""

from __future__ import annotations

import os
import secrets
import shlex
import sys
from typing import TYPE_CHECKING, Any

from composer.cli.options import GlobalOptions
from composer.errors import ComposerError

if TYPE_CHECKING:
    from composer.session import Session


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.main import parse_command
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv, options_first=True)
    service = args["SERVICE"]
    session = open_session(options, (service,))  # a profiled service named here is enabled, as Compose
    if service not in session.project.services:
        raise ComposerError(f"no such service: {service}")
    session.engine.api.timeout = None  # an attached one-off session lasts as long as its command
    _prepare(session, service, args)
    body = _container_body(session, service, args)
    name = args["--name"] or f"{session.name}-{service}-run-{secrets.token_hex(6)}"
    return _run_container(session, name, body, args)


def _prepare(session: Session, service: str, args: dict[str, Any]) -> None:
    """Networks, volumes, the service's image and (unless --no-deps) its dependencies, through O1's
    reconciler; the service's own containers are left alone."""
    from composer.execute import Context, execute
    from composer.plan import Kind, Plan
    from composer.progress import Progress
    from composer.reconcile import UpOptions, reconcile

    observed = session.observe()
    upopts = UpOptions(
        services=(service,),
        no_deps=bool(args["--no-deps"]),
        remove_orphans=bool(args["--remove-orphans"]),
        build="always" if args["--build"] else "auto",
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
        quiet_pull=bool(args["--quiet-pull"]),
    )
    execute(Plan(plan.project, kept), ctx)


def _env_item(item: str) -> str | None:
    """KEY=VAL as is; a bare KEY takes the caller's value (and is dropped when unset), as docker does."""
    if "=" in item:
        return item
    value = os.environ.get(item)
    return None if value is None else f"{item}={value}"


def _first_container(session: Session, service: str) -> str:
    """The id of `service`'s first container (volumes_from, network_mode "service:x" of a one-off)."""
    from composer import labels as L
    from composer.client import engine_errors
    from composer.errors import ComposerError

    with engine_errors(f"looking up service {service}"):
        found = session.engine.api.containers(all=True, filters=L.service_filter(session.name, service))
    if not found:
        raise ComposerError(f"service {service} has no container")
    return str(sorted(found, key=lambda c: L.number_of(c.get("Labels") or {}))[0]["Id"])


def _container_body(session: Session, service: str, args: dict[str, Any]) -> dict[str, Any]:
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
    for item in args["--label"] or ():
        key, _, value = item.partition("=")
        labels[key] = value
    if args["COMMAND"]:
        body["Cmd"] = [args["COMMAND"], *args["ARGS"]]
    if args["--entrypoint"] is not None:
        body["Entrypoint"] = shlex.split(args["--entrypoint"])
        if not args["COMMAND"]:
            body.pop("Cmd", None)  # a new entrypoint does not inherit the service's command (docker run)
    env = list(body.get("Env") or [])
    env += [e for e in (_env_item(i) for i in args["--env"] or ()) if e is not None]
    body["Env"] = env
    if args["--user"]:
        body["User"] = args["--user"]
    if args["--workdir"]:
        body["WorkingDir"] = args["--workdir"]
    if not args["--service-ports"]:
        host["PortBindings"] = {}
    for spec in args["--publish"] or ():
        _publish(body, host, spec)
    for volume in args["--volume"] or ():
        source, sep, rest = volume.partition(":")
        if sep and source.startswith("."):
            source = os.path.normpath(os.path.join(session.loaded.working_dir, source))
        host.setdefault("Binds", []).append(f"{source}{sep}{rest}")
    host["RestartPolicy"] = {}
    detach = bool(args["--detach"])
    tty = not args["--no-TTY"] and sys.stdin.isatty() and sys.stdout.isatty() and not detach
    body.update(
        Tty=tty,
        OpenStdin=not detach,
        StdinOnce=not detach,
        AttachStdin=not detach,
        AttachStdout=not detach,
        AttachStderr=not detach,
    )
    return body


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


def _run_container(session: Session, name: str, body: dict[str, Any], args: dict[str, Any]) -> int:
    from composer import filerefs
    from composer.attach import pump, raw_terminal
    from composer.client import engine_errors
    from composer.execute import api_version, connect, endpoints_connected_after_create
    from composer.presenter import out, warn

    api = session.engine.api
    project = session.project
    svc = project.services[args["SERVICE"]]
    for message in filerefs.warnings(project, svc):
        warn(message)
    with engine_errors(f"creating container {name}"):
        later = endpoints_connected_after_create(api_version(api), body)
        cid = str(api.create_container_from_config(body, name=name)["Id"])
        for network, endpoint in later.items():
            connect(api, network, cid, endpoint)
    try:
        files = filerefs.injected_files(project, svc, session.loaded.environment)
        with engine_errors(f"copying secrets and configs into container {name}"):
            filerefs.write_into(api, cid, files)
        if args["--detach"]:
            with engine_errors(f"starting container {name}"):
                api.start(cid)
            out(name)
            return 0
        tty = bool(body.get("Tty"))
        with engine_errors(f"running container {name}"):
            hijacked = api.attach_socket(cid, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            api.start(cid)
            if tty:
                with raw_terminal(sys.stdin.fileno()):
                    pump(hijacked, tty=True, send_stdin=True)
            else:
                pump(hijacked, tty=False, send_stdin=True)
            code = int(api.wait(cid)["StatusCode"])
        return code
    finally:
        if args["--rm"] and not args["--detach"]:
            with engine_errors(f"removing container {name}"):
                api.remove_container(cid, force=True, v=True)
