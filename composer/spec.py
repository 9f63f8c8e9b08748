"""A service's container as the Engine API's create body: a pure translation of the typed model.

`container_config(...)` returns the JSON body of POST /containers/create (Config + HostConfig +
NetworkingConfig), labelled as Docker Compose v2 labels its containers. The one read from outside the model: a
seccomp profile named in `security_opt` is a file whose JSON goes into the body, as Compose sends it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from composer import filerefs
from composer import labels as L
from composer._typecheck import TYPE_CHECKING
from composer.graph import SERVICE_PREFIX
from composer.model import Healthcheck, Mount, Project, Service
from composer.security_opts import resolve_security_opts

if TYPE_CHECKING:
    from typing import Any

NS = 1_000_000_000


@dataclass(frozen=True)
class ProjectMeta:
    """Project-wide facts written into every container's labels."""

    working_dir: str
    config_files: tuple[str, ...] = ()
    environment_files: tuple[str, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    """The interpolation environment: where `environment:` secrets and configs take their content."""


def image_ref(project: Project, service: Service) -> str:
    """The image a service runs: its `image`, or `<project>-<service>` for a built one without a name."""
    return service.image or f"{project.name}-{service.name}"


def depends_on_label(service: Service) -> str:
    return ",".join(
        f"{name}:{dep.condition}:{'true' if dep.restart else 'false'}"
        for name, dep in service.depends_on.items()
    )


def container_labels(
    project: Project, service: Service, number: int, config_hash: str, image_id: str, meta: ProjectMeta
) -> dict[str, str]:
    out = dict(service.labels)
    out.update(
        {
            L.PROJECT: project.name,
            L.SERVICE: service.name,
            L.CONTAINER_NUMBER: str(number),
            L.ONEOFF: L.FALSE,
            L.CONFIG_HASH: config_hash,
            L.DEPENDS_ON: depends_on_label(service),
            L.WORKING_DIR: meta.working_dir,
            L.CONFIG_FILES: ",".join(meta.config_files),
            L.VERSION: L.COMPOSE_VERSION,
        }
    )
    if image_id:
        out[L.IMAGE] = image_id
    if meta.environment_files:
        out[L.ENVIRONMENT_FILE] = ",".join(meta.environment_files)
    injected = filerefs.content_digest(project, service, meta.environment)
    if injected:
        out[filerefs.INJECTED_HASH_LABEL] = injected
    return out


def healthcheck_config(hc: Healthcheck) -> dict[str, Any]:
    if hc.disable:
        return {"Test": ["NONE"]}
    out: dict[str, Any] = {}
    if hc.test is not None:
        out["Test"] = list(hc.test)
    for key, api in (
        ("interval", "Interval"),
        ("timeout", "Timeout"),
        ("start_period", "StartPeriod"),
        ("start_interval", "StartInterval"),
    ):
        value = hc.nanoseconds(key)
        if value is not None:
            out[api] = value
    if hc.retries is not None:
        out["Retries"] = hc.retries
    return out


def _mount(project: Project, m: Mount) -> tuple[str | None, dict[str, Any] | None]:
    """(a Binds entry, or a Mounts entry). Binds keep dockerd's create-missing-host-path behaviour."""
    if m.type == "bind":
        return f"{m.source}:{m.target}{':ro' if m.read_only else ''}", None
    if m.type == "volume":
        out: dict[str, Any] = {"Type": "volume", "Target": m.target, "ReadOnly": m.read_only}
        if m.source:
            vol = project.volumes.get(m.source)
            out["Source"] = vol.name if vol is not None else m.source
        if (m.volume or {}).get("nocopy"):
            out["VolumeOptions"] = {"NoCopy": True}
        return None, out
    if m.type == "tmpfs":
        out = {"Type": "tmpfs", "Target": m.target}
        if m.tmpfs_size is not None:
            out["TmpfsOptions"] = {"SizeBytes": m.tmpfs_size}
        return None, out
    return None, {"Type": m.type, "Source": m.source, "Target": m.target, "ReadOnly": m.read_only}


def _ports(service: Service) -> tuple[dict[str, Any], dict[str, list[dict[str, str]]]]:
    exposed: dict[str, Any] = {f"{p}/tcp" if "/" not in p else p: {} for p in service.expose}
    bindings: dict[str, list[dict[str, str]]] = {}
    for p in service.ports:
        key = f"{p.target}/{p.protocol}"
        exposed[key] = {}
        bindings.setdefault(key, []).append({"HostIp": p.host_ip or "", "HostPort": p.published or ""})
    return exposed, bindings


def _restart_policy(value: str | None) -> dict[str, Any]:
    if not value or value == "no":
        return {"Name": "no"}
    name, _, count = value.partition(":")
    return {"Name": name, "MaximumRetryCount": int(count)} if count else {"Name": name}


def _namespace(value: str | None, resolve: Callable[[str], str]) -> str | None:
    if value and value.startswith(SERVICE_PREFIX):
        return "container:" + resolve(value[len(SERVICE_PREFIX) :])
    return value


def network_settings(
    project: Project, service: Service, networks_supported: bool
) -> tuple[str | None, dict[str, Any]]:
    """(NetworkMode, EndpointsConfig) for a service on the project's networks."""
    if service.network_mode or not networks_supported:
        return None, {}
    endpoints: dict[str, Any] = {}
    for key, settings in service.networks.items():
        net = project.networks.get(key)
        name = net.name if net is not None else key
        aliases = [service.name, *(settings.aliases if settings else ())]
        endpoint: dict[str, Any] = {"Aliases": aliases}
        if settings and (settings.ipv4_address or settings.ipv6_address):
            endpoint["IPAMConfig"] = {
                k: v
                for k, v in (("IPv4Address", settings.ipv4_address), ("IPv6Address", settings.ipv6_address))
                if v
            }
        endpoints[name] = endpoint
    first = next(iter(endpoints), None)
    return first, endpoints


def _volumes_from(ref: str, resolve_service: Callable[[str], str]) -> str:
    """`service[:mode]` -> the service's first container, `container:name[:mode]` -> that container,
    each with the access mode (Compose 2.40 drops the mode; dockerd honours it, so we pass it on)."""
    if ref.startswith("container:"):
        return ref.removeprefix("container:")
    service, sep, mode = ref.partition(":")
    return resolve_service(service) + sep + mode


def container_config(
    project: Project,
    service: Service,
    number: int,
    *,
    config_hash: str,
    image_id: str,
    meta: ProjectMeta,
    networks_supported: bool,
    resolve_service: Callable[[str], str] = lambda name: name,
    extra_labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The POST /containers/create body for container `number` of `service`."""
    exposed, bindings = _ports(service)
    security = resolve_security_opts(service.security_opt, meta.working_dir)
    binds: list[str] = []
    mounts: list[dict[str, Any]] = []
    for m in service.volumes:
        bind, mount = _mount(project, m)
        if bind:
            binds.append(bind)
        if mount:
            mounts.append(mount)
    mounts += filerefs.mounts(project, service)
    host: dict[str, Any] = {
        "Binds": binds,
        "Mounts": mounts,
        "PortBindings": bindings,
        "RestartPolicy": _restart_policy(service.restart),
        "Privileged": service.privileged,
        "ReadonlyRootfs": service.read_only,
        "CapAdd": list(service.cap_add) or None,
        "CapDrop": list(service.cap_drop) or None,
        "Dns": list(service.dns) or None,
        "DnsSearch": list(service.dns_search) or None,
        "DnsOptions": list(service.dns_opt) or None,
        "ExtraHosts": list(service.extra_hosts) or None,
        "SecurityOpt": list(security.security_opt) or None,
        "GroupAdd": list(service.group_add) or None,
        "Sysctls": dict(service.sysctls) or None,
        "Init": service.init,
        "Memory": service.mem_limit or 0,
        "NanoCpus": int((service.cpus or 0) * NS),
        "ShmSize": service.shm_size or 0,
        "PidsLimit": service.pids_limit,
        "VolumesFrom": [_volumes_from(v, resolve_service) for v in service.volumes_from] or None,
    }
    if security.unconfined_paths:
        host["MaskedPaths"] = []
        host["ReadonlyPaths"] = []
    if service.tmpfs:
        host["Tmpfs"] = {t.partition(":")[0]: t.partition(":")[2] for t in service.tmpfs}
    if service.logging:
        host["LogConfig"] = {
            "Type": service.logging.get("driver") or "json-file",
            "Config": dict(service.logging.get("options") or {}),
        }
    for key, api in (("ipc", "IpcMode"), ("pid", "PidMode"), ("cgroup_parent", "CgroupParent")):
        value = _namespace(getattr(service, key), resolve_service)
        if value:
            host[api] = value
    mode, endpoints = network_settings(project, service, networks_supported)
    host["NetworkMode"] = _namespace(service.network_mode, resolve_service) or mode or "bridge"
    body: dict[str, Any] = {
        "Image": image_ref(project, service),
        "Env": [f"{k}={v}" for k, v in service.environment.items() if v is not None],
        "Labels": {
            **container_labels(project, service, number, config_hash, image_id, meta),
            **(extra_labels or {}),
        },
        "Tty": service.tty,
        "OpenStdin": service.stdin_open,
        "AttachStdin": False,
        "AttachStdout": True,
        "AttachStderr": True,
        "ExposedPorts": exposed,
        "HostConfig": {k: v for k, v in host.items() if v is not None},
    }
    if service.command is not None:
        body["Cmd"] = list(service.command)
    if service.entrypoint is not None:
        body["Entrypoint"] = list(service.entrypoint)
    for key, api in (
        ("user", "User"),
        ("working_dir", "WorkingDir"),
        ("hostname", "Hostname"),
        ("domainname", "Domainname"),
        ("stop_signal", "StopSignal"),
        ("mac_address", "MacAddress"),
    ):
        value = getattr(service, key)
        if value:
            body[api] = value
    if service.stop_grace_seconds is not None:
        body["StopTimeout"] = int(service.stop_grace_seconds)
    if service.healthcheck is not None:
        body["Healthcheck"] = healthcheck_config(service.healthcheck)
    if endpoints:
        body["NetworkingConfig"] = {"EndpointsConfig": endpoints}
    return body


def stop_timeout(service: Service | None, override: int | None) -> int:
    """Seconds to wait after the stop signal: -t wins, then stop_grace_period, else Compose's 10."""
    if override is not None:
        return override
    if service is not None and service.stop_grace_seconds is not None:
        return int(service.stop_grace_seconds)
    return 10
