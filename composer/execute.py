"""Walk a Plan: every operation is one Engine API call, run as soon as the operations it comes after are
done (graphlib.TopologicalSorter), in parallel within that limit. Nothing is decided here; the first
failure stops new work, lets running calls finish, and is raised as one line naming the service.
"""

from __future__ import annotations

import graphlib
import threading
import time
from dataclasses import dataclass, field

from composer import filerefs
from composer import labels as L
from composer._log import get_logger
from composer._typecheck import TYPE_CHECKING
from composer.buildcontext import BUILD_CONTEXT_LABEL
from composer.client import engine_errors, is_not_found
from composer.errors import ComposerError
from composer.hooks import HookError, HookOutput, hooks_of, run_hook
from composer.model import Project, service_config_hash
from composer.netplan import network_hash, volume_hash
from composer.plan import Kind, Operation, Plan
from composer.progress import Progress
from composer.reference import parse_image_ref
from composer.spec import ProjectMeta, container_config, image_ref
from composer.wakeups import Wakeups

if TYPE_CHECKING:
    from typing import Any

    from composer.lite import Client

log = get_logger(__name__)

WORKERS = 16
STOP_POLL = 0.1  # seconds between looks at a signalled container during a stop of our own


class ExecuteError(ComposerError):
    pass


@dataclass
class Context:
    """What the operations of one plan share while it is executed."""

    api: Client
    project: Project | None
    progress: Progress
    meta: ProjectMeta = field(default_factory=lambda: ProjectMeta(working_dir=""))
    networks_supported: bool = True
    quiet_pull: bool = False
    build_contexts: dict[str, str] = field(default_factory=dict)  # built service -> context record label
    container_ids: dict[str, str] = field(default_factory=dict)  # name -> id, filled as containers appear
    started: list[str] = field(default_factory=list)  # ids this run started, in order
    # stop by sending the stop signal and killing after the grace ourselves (kill calls of our own), not
    # with one long /stop call: a second Ctrl-C's kill must not queue behind an engine's stop
    signal_stops: bool = False
    # attached output for post_start/pre_stop hook lines (None: hooks run detached, output unseen)
    hook_output: HookOutput | None = None
    _images: dict[str, str] = field(default_factory=dict)
    _api_version: tuple[int, ...] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)


def execute(plan: Plan, ctx: Context) -> None:
    ops = plan.by_id()
    if not ops:
        return  # a converged project: no pool to start (concurrent.futures is ~3 ms of a no-change `up`)
    import concurrent.futures as cf

    sorter = graphlib.TopologicalSorter({i: [a for a in op.after if a in ops] for i, op in ops.items()})
    sorter.prepare()
    failure: BaseException | None = None
    pool = cf.ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="op")
    running: dict[cf.Future[None], str] = {}
    try:
        while sorter.is_active() or running:
            if failure is None:
                for op_id in sorter.get_ready():
                    running[pool.submit(_run, ops[op_id], ctx)] = op_id
            if not running:
                break
            done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                op_id = running.pop(fut)
                exc = fut.exception()
                if exc is None:
                    sorter.done(op_id)
                elif failure is None:
                    failure = exc
    except KeyboardInterrupt:
        # Ctrl-C: start nothing new and return at once; calls in flight finish on their own (a create
        # always carries its labels, so nothing is left unlabelled)
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    if failure is not None:
        raise failure


def _run(op: Operation, ctx: Context) -> None:
    what = f"service {op.service}: " if op.service else ""
    try:
        _HANDLERS[op.kind](op, ctx)
    except ComposerError as exc:
        if op.kind is Kind.PULL_IMAGE:  # the pull's line is the service's (see _pull)
            from composer.progress import ERROR

            ctx.progress.emit(op.service or op.target, text="Error", status=exc.message, state=ERROR)
        else:
            ctx.progress.event(op.progress_noun, op.target, "Error", "")
        if op.kind is Kind.AWAIT and not op.required:
            ctx.progress.note(f"WARNING: optional dependency {op.target} failed: {exc.message}")
            return
        if isinstance(exc, HookError):
            raise  # Compose's own wording: "<service> hook exited with status N"
        bare = exc.message.startswith("service ") or isinstance(exc, filerefs.FileRefError)
        msg = exc.message if bare else what + exc.message
        raise ExecuteError(msg, exc.hint) from exc


def _create_network(op: Operation, ctx: Context) -> None:
    assert ctx.project is not None and op.key is not None
    net = ctx.project.networks[op.key]
    ctx.progress.event("Network", net.name, "Creating")
    labels = {
        **net.labels,
        L.PROJECT: ctx.project.name,
        L.NETWORK: op.key,
        L.VERSION: L.COMPOSE_VERSION,
        L.CONFIG_HASH: network_hash(net),  # a later `up` sees when the configuration changed
    }
    ipam = None
    if net.ipam:
        pools = [
            {
                "Subnet": c.get("subnet"),
                "IPRange": c.get("ip_range"),
                "Gateway": c.get("gateway"),
                "AuxiliaryAddresses": None,
            }
            for c in net.ipam.get("config") or []
        ]
        ipam = {"Driver": net.ipam.get("driver") or "default", "Config": pools}
    with engine_errors(f"creating network {net.name}"):
        ctx.api.create_network(
            net.name,
            driver=net.driver or "bridge",
            options=dict(net.driver_opts) or None,
            ipam=ipam,
            internal=net.internal,
            labels=labels,
            enable_ipv6=bool(net.enable_ipv6),
            attachable=net.attachable or None,
        )
    ctx.progress.event("Network", net.name, "Created")


def _create_volume(op: Operation, ctx: Context) -> None:
    assert ctx.project is not None and op.key is not None
    vol = ctx.project.volumes[op.key]
    ctx.progress.event("Volume", vol.name, "Creating")
    labels = {
        **vol.labels,
        L.CONFIG_HASH: volume_hash(vol),  # as Compose labels it (it compares it before using the volume)
        L.PROJECT: ctx.project.name,
        L.VOLUME: op.key,
        L.VERSION: L.COMPOSE_VERSION,
    }
    with engine_errors(f"creating volume {vol.name}"):
        ctx.api.create_volume(
            vol.name, driver=vol.driver or "local", driver_opts=dict(vol.driver_opts), labels=labels
        )
    ctx.progress.event("Volume", vol.name, "Created")


def _stream_errors(stream: Any, doing: str) -> None:
    """Pull/build replies are JSON message streams; an `error` entry is the failure."""
    for item in stream:
        if isinstance(item, dict) and item.get("error"):
            raise ComposerError(f"{doing}: {str(item['error']).strip()}")


def _pull(op: Operation, ctx: Context) -> None:
    from composer.image_ops import drain, pull_reporter
    from composer.progress import DONE

    name = op.service or op.target  # Compose names a pull by the service that needs the image
    ctx.progress.emit(name, text="Pulling")
    ref = parse_image_ref(op.target)
    with engine_errors(f"pulling image {op.target}"):
        stream = ctx.api.pull(ref.repository, tag=ref.tag_or_digest, stream=True, decode=True)
        drain(stream, f"pulling {op.target}", None, pull_reporter(ctx.progress, name))
    ctx.progress.emit(name, text="Pulled", state=DONE)


def _build(op: Operation, ctx: Context) -> None:
    assert ctx.project is not None and op.service is not None
    svc = ctx.project.services[op.service]
    assert svc.build is not None
    ctx.progress.event("Service", op.service, "Building")  # Compose's words: the service builds
    with engine_errors(f"building image {op.target}"):
        stream = ctx.api.build(
            path=svc.build.context,
            dockerfile=svc.build.dockerfile,
            tag=op.target,
            buildargs={k: str(v) for k, v in svc.build.args.items() if v is not None} or None,
            target=svc.build.target,
            rm=True,
            decode=True,
            labels=dict(svc.build.other.get("labels") or {}) or None,
        )
        _stream_errors(stream, f"building {op.target}")
    ctx.progress.event("Service", op.service, "Built")
    ctx.progress.emit(op.service, status="Built", state="done")  # and the service's image is built


def _image_id(ctx: Context, ref: str) -> str:
    with ctx._lock:
        if ref in ctx._images:
            return ctx._images[ref]
    with engine_errors(f"inspecting image {ref}"):
        image_id = str(ctx.api.inspect_image(ref)["Id"])
    with ctx._lock:
        ctx._images[ref] = image_id
    return image_id


def _service_container(ctx: Context, service: str) -> str:
    """The id of `service`'s first container (for network_mode/ipc/pid "service:x")."""
    assert ctx.project is not None
    with engine_errors(f"looking up service {service}"):
        found = ctx.api.containers(all=True, filters=L.service_filter(ctx.project.name, service))
    if not found:
        raise ComposerError(f"service {service} has no container")
    return str(sorted(found, key=lambda c: L.number_of(c.get("Labels") or {}))[0]["Id"])


def _create_container(op: Operation, ctx: Context) -> None:
    create_as(op, ctx, op.target)


def create_as(op: Operation, ctx: Context, name: str) -> str:
    """Create `op`'s container under the engine name `name` (a recreate's temporary name, as Compose's
    `<old id[:12]>_<name>`, or its own); progress speaks of op.target. Returns the new container's id."""
    assert ctx.project is not None and op.service is not None and op.number is not None
    svc = ctx.project.services[op.service]
    if not op.recreate:
        ctx.progress.event("Container", op.target, "Creating")
    ref = image_ref(ctx.project, svc)
    try:
        image_id = _image_id(ctx, ref)
    except ComposerError:
        raise ComposerError(f"image {ref} not found") from None
    body = container_config(
        ctx.project,
        svc,
        op.number,
        config_hash=service_config_hash(ctx.project, op.service),
        image_id=image_id,
        meta=ctx.meta,
        networks_supported=ctx.networks_supported,
        resolve_service=lambda name: _service_container(ctx, name),
        extra_labels=(
            {BUILD_CONTEXT_LABEL: ctx.build_contexts[op.service]}
            if op.service in ctx.build_contexts
            else None
        ),
    )
    for message in filerefs.warnings(ctx.project, svc):
        ctx.progress.note(f"WARNING: {message}")
    later = endpoints_connected_after_create(_api_version(ctx), body)
    with engine_errors(f"creating container {op.target}"):
        reply = ctx.api.create_container_from_config(body, name=name)
        for network, endpoint in later.items():
            connect(ctx.api, network, str(reply["Id"]), endpoint)
    with ctx._lock:
        ctx.container_ids[name] = str(reply["Id"])
    ctx.progress.event("Container", op.target, "Recreated" if op.recreate else "Created")
    return str(reply["Id"])


def _api_version(ctx: Context) -> tuple[int, ...]:
    with ctx._lock:
        if ctx._api_version is None:
            ctx._api_version = api_version(ctx.api)
        return ctx._api_version


def api_version(api: Any) -> tuple[int, ...]:
    """The engine's API version, (1, 41) for dockerd 20.10."""
    reply = api.version()
    text = str((reply or {}).get("ApiVersion") or "0")
    return tuple(int(p) for p in text.split(".") if p.isdigit())


def endpoints_connected_after_create(version: tuple[int, ...], body: dict[str, Any]) -> dict[str, Any]:
    """Engines before API 1.44 (dockerd 20.10 is 1.41) take one network at create: as Compose does, the
    container is created on the first and connected to the others before it starts. Takes those others out
    of `body` and returns them (network -> EndpointConfig)."""
    endpoints = (body.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
    if len(endpoints) < 2 or version >= (1, 44):
        return {}
    primary = body["HostConfig"].get("NetworkMode")
    first = primary if primary in endpoints else next(iter(endpoints))
    body["NetworkingConfig"] = {"EndpointsConfig": {first: endpoints[first]}}
    return {name: endpoint for name, endpoint in endpoints.items() if name != first}


def connect(api: Any, network: str, container_id: str, endpoint: dict[str, Any]) -> None:
    body = {"Container": container_id, "EndpointConfig": endpoint}
    api.request("POST", f"/networks/{network}/connect", body=body)


def _start(op: Operation, ctx: Context) -> None:
    cid = op.container_id or ctx.container_ids.get(op.target) or op.target
    if ctx.project is not None and op.service is not None and op.service in ctx.project.services:
        # secrets/configs from environment or content are written in before every start (as Compose)
        files = filerefs.injected_files(ctx.project, ctx.project.services[op.service], ctx.meta.environment)
        with engine_errors(f"copying secrets and configs into container {op.target}"):
            filerefs.write_into(ctx.api, cid, files)
    ctx.progress.event("Container", op.target, "Starting")
    with engine_errors(f"starting container {op.target}"):
        ctx.api.start(cid)
    with ctx._lock:
        ctx.started.append(cid)
    _run_hooks(op, ctx, cid, "post_start")
    ctx.progress.event("Container", op.target, "Started")


def _run_hooks(op: Operation, ctx: Context, cid: str, kind: str) -> None:
    """The service's post_start/pre_stop hooks in this container, in order; the first failure ends it."""
    if ctx.project is None or op.service is None or op.service not in ctx.project.services:
        return  # an orphan: its hooks are not known
    svc = ctx.project.services[op.service]
    prefix = f"{ctx.project.name}-"
    name = (op.target[len(prefix) :] if op.target.startswith(prefix) else op.target) + " ->"
    for hook in hooks_of(svc.options, kind):
        if not run_hook(ctx.api, cid, svc.name, hook, name=name, tty=svc.tty, output=ctx.hook_output):
            return  # the container is gone or stopped: nothing left to hook


def _stop(op: Operation, ctx: Context) -> None:
    grace = op.timeout if op.timeout is not None else 10
    doing = "Recreate" if op.recreate else "Stopping"
    ctx.progress.event("Container", op.target, doing)
    done = threading.Event()

    def countdown() -> None:
        """Say how long until the engine kills a container that ignores its stop signal."""
        for left in range(grace - 1, 0, -1):
            if done.wait(1):
                return
            ctx.progress.event("Container", op.target, doing, f"(killed in {left}s)")

    _run_hooks(op, ctx, op.container_id or ctx.container_ids.get(op.target) or op.target, "pre_stop")
    ticker = threading.Thread(target=countdown, daemon=True)
    ticker.start()
    try:
        with engine_errors(f"stopping container {op.target}"):
            if ctx.signal_stops:
                _signal_stop(ctx.api, op.container_id or op.target, grace)
            else:
                ctx.api.stop(op.container_id or op.target, timeout=grace)
    except ComposerError as exc:
        if not is_not_found(exc.__cause__ or exc):
            raise
    finally:
        done.set()
    if not op.recreate:
        ctx.progress.event("Container", op.target, "Stopped")


def _signal_stop(api: Any, cid: str, grace: int) -> None:
    """What /stop does, in short calls: the container's stop signal, `grace` seconds, then SIGKILL."""
    info = api.inspect_container(cid)
    if not info["State"].get("Running"):
        return
    api.kill(cid, signal=(info.get("Config") or {}).get("StopSignal") or "SIGTERM")
    for sig in ("SIGKILL", None):
        deadline = time.monotonic() + (grace if sig else 10)
        while time.monotonic() < deadline:
            if not api.inspect_container(cid)["State"].get("Running"):
                return
            time.sleep(STOP_POLL)
        if sig is not None:
            try:
                api.kill(cid, signal=sig)
            except Exception as exc:  # ended between the look and the kill
                log.debug("kill after grace failed container=%s error=%s", cid, exc)


def _remove(op: Operation, ctx: Context) -> None:
    ctx.progress.event("Container", op.target, "Recreate" if op.recreate else "Removing")
    _gone_is_fine(
        lambda: ctx.api.remove_container(op.container_id or op.target, v=op.remove_volumes, force=True),
        f"removing container {op.target}",
    )
    if not op.recreate:
        ctx.progress.event("Container", op.target, "Removed")


def _replace(op: Operation, ctx: Context) -> None:
    from composer import rollout

    rollout.replace(op, ctx, create_as, _start)


def _remove_network(op: Operation, ctx: Context) -> None:
    ctx.progress.event("Network", op.target, "Removing")
    _gone_is_fine(lambda: ctx.api.remove_network(op.target), f"removing network {op.target}")
    ctx.progress.event("Network", op.target, "Removed")


def _remove_volume(op: Operation, ctx: Context) -> None:
    ctx.progress.event("Volume", op.target, "Removing")
    _gone_is_fine(lambda: ctx.api.remove_volume(op.target), f"removing volume {op.target}")
    ctx.progress.event("Volume", op.target, "Removed")


def _remove_image(op: Operation, ctx: Context) -> None:
    ctx.progress.event("Image", op.target, "Removing")
    _gone_is_fine(lambda: ctx.api.remove_image(op.target), f"removing image {op.target}")
    ctx.progress.event("Image", op.target, "Removed")


def _gone_is_fine(call: Any, doing: str) -> None:
    """Deleting what is already gone is success."""
    try:
        with engine_errors(doing):
            call()
    except ComposerError as exc:
        if not is_not_found(exc.__cause__ or exc):
            raise


def _await(op: Operation, ctx: Context) -> None:
    """Block until every container of the dependency meets the condition; fail clearly when it cannot."""
    assert ctx.project is not None and op.service is not None
    condition = op.condition or "service_started"
    with Wakeups(ctx.api, L.service_filter(ctx.project.name, op.service)) as wake:
        _await_condition(op, ctx, condition, wake)


def _await_condition(op: Operation, ctx: Context, condition: str, wake: Wakeups) -> None:
    """Check the dependency's containers; between checks, sleep until the engine reports an event."""
    assert ctx.project is not None and op.service is not None
    while True:
        with engine_errors(f"inspecting service {op.service}"):
            found = ctx.api.containers(all=True, filters=L.service_filter(ctx.project.name, op.service))
        if not found:
            raise ComposerError(f"dependency {op.service} has no container")
        states = []
        for item in found:
            name = str((item.get("Names") or [item["Id"]])[0]).lstrip("/")
            if condition == "service_started" and isinstance(item.get("State"), str):
                state = {"Status": item["State"]}  # the list says it: no inspect round trip per container
            else:
                with engine_errors(f"inspecting container {name}"):
                    state = ctx.api.inspect_container(item["Id"])["State"]
            states.append(_condition_state(condition, name, op.service, state))
        if all(s == "ok" for s in states):
            word = {"service_healthy": "Healthy", "service_completed_successfully": "Exited"}.get(condition)
            if word:
                for item in found:
                    ctx.progress.event("Container", str(item["Names"][0]).lstrip("/"), word)
            return
        for item, s in zip(found, states, strict=True):
            if s == "wait":
                ctx.progress.event(
                    "Container",
                    str(item["Names"][0]).lstrip("/"),
                    "Waiting",
                    f"to be {_GOAL.get(condition, condition)} ({op.cause})",
                )
        wake.wait()


_GOAL = {
    "service_started": "started",
    "service_healthy": "healthy",
    "service_completed_successfully": "completed successfully",
}


def _condition_state(condition: str, name: str, service: str, state: dict[str, Any]) -> str:
    """ok / wait for one container, or raise when the condition can no longer be met."""
    status = state.get("Status")
    if condition == "service_completed_successfully":
        if status in ("exited", "dead"):
            code = int(state.get("ExitCode") or 0)
            if code != 0:
                raise ComposerError(f"service {service} didn't complete successfully: exit {code}")
            return "ok"
        return "wait"
    if condition == "service_healthy":
        health = (state.get("Health") or {}).get("Status")
        if health is None:
            raise ComposerError(f"dependency {service} (container {name}) has no healthcheck configured")
        if health == "healthy":
            return "ok"
        if health == "unhealthy":
            raise ComposerError(f"dependency failed to start: container {name} is unhealthy")
        if status in ("exited", "dead"):
            raise ComposerError(
                f"dependency failed to start: container {name} exited ({state.get('ExitCode')})"
            )
        return "wait"
    if status in ("running", "paused", "restarting") or status == "exited":
        return "ok"
    return "wait"


_HANDLERS = {
    Kind.CREATE_NETWORK: _create_network,
    Kind.CREATE_VOLUME: _create_volume,
    Kind.PULL_IMAGE: _pull,
    Kind.BUILD_IMAGE: _build,
    Kind.CREATE_CONTAINER: _create_container,
    Kind.START_CONTAINER: _start,
    Kind.STOP_CONTAINER: _stop,
    Kind.REMOVE_CONTAINER: _remove,
    Kind.AWAIT: _await,
    Kind.REMOVE_NETWORK: _remove_network,
    Kind.REMOVE_VOLUME: _remove_volume,
    Kind.REMOVE_IMAGE: _remove_image,
    Kind.REPLACE_CONTAINER: _replace,
}
