"""A Compose service as a pod template: its container (image, command, env, ports, probes, resources,
security), the pod-level settings (host namespaces, DNS, hosts, sysctls), and init containers that hold
the pod until the services it depends on answer.

Every service field is either converted here, handled by storage/workload, or named in a warning: the
table `HANDLED` is the list, and `unconverted` warns for every other field a service sets."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from composer.canonical.units import parse_bytes, parse_duration
from composer.kube.context import Conversion
from composer.kube.names import dns_label
from composer.kube.storage import PodStorage
from composer.model import Healthcheck, Service

# The image init containers use to wait for a dependency's port.
WAIT_IMAGE = "busybox:1.36"

# Service fields converted by this package (pod, storage, workload); any other field set is warned about.
HANDLED = frozenset(
    {
        "name",
        "image",
        "build",
        "command",
        "entrypoint",
        "environment",
        "labels",
        "annotations",
        "sysctls",
        "ports",
        "volumes",
        "depends_on",
        "healthcheck",
        "secrets",
        "configs",
        "network_mode",
        "ipc",
        "pid",
        "restart",
        "user",
        "working_dir",
        "hostname",
        "stop_grace_period",
        "pull_policy",
        "platform",
        "scale",
        "cpus",
        "mem_limit",
        "mem_reservation",
        "shm_size",
        "tty",
        "stdin_open",
        "privileged",
        "read_only",
        "profiles",
        "cap_add",
        "cap_drop",
        "dns",
        "dns_search",
        "dns_opt",
        "extra_hosts",
        "tmpfs",
        "expose",
        "group_add",
        "deploy",
        "networks",
        "links",
        "options",
    }
)
# Keys of `options` (fields without a typed attribute) converted here.
HANDLED_OPTIONS = frozenset({"post_start", "pre_stop"})


def seconds(duration: str | None, default: int) -> int:
    """A Compose duration as the whole seconds (at least 1) Kubernetes probes take."""
    if duration is None:
        return default
    return max(1, int(math.ceil(parse_duration(duration) / 1e9)))


def literal(text: str) -> str:
    """Text Kubernetes passes on as written: it expands `$(VAR)` in command, args and env values and
    reads `$$` as `$`, so each `$` before `(` or `$` is doubled."""
    return re.sub(r"\$(?=[$(])", "$$", text)


def container(conv: Conversion, service: Service, image: str, storage: PodStorage) -> dict[str, Any]:
    c: dict[str, Any] = {"name": dns_label(service.name), "image": image}
    if service.entrypoint is not None:
        c["command"] = [literal(a) for a in service.entrypoint]
    if service.command is not None:
        c["args"] = [literal(a) for a in service.command]
    if service.working_dir:
        c["workingDir"] = service.working_dir
    env = [{"name": k, "value": literal(v)} for k, v in service.environment.items() if v is not None]
    if env:
        c["env"] = env
    ports = container_ports(service)
    if ports:
        c["ports"] = ports
    resources = _resources(conv, service)
    if resources:
        c["resources"] = resources
    probe = _probe(service.healthcheck)
    if probe is not None:
        c["readinessProbe"] = probe
        c["livenessProbe"] = probe  # an unhealthy container is replaced, as Swarm does
    security = _container_security(conv, service)
    if security:
        c["securityContext"] = security
    if storage.mounts:
        c["volumeMounts"] = storage.mounts
    lifecycle = _lifecycle(conv, service)
    if lifecycle:
        c["lifecycle"] = lifecycle
    if service.pull_policy:
        policy = {
            "always": "Always",
            "never": "Never",
            "missing": "IfNotPresent",
            "if_not_present": "IfNotPresent",
        }
        if service.pull_policy in policy:
            c["imagePullPolicy"] = policy[service.pull_policy]
        else:
            conv.warn(
                f"service {service.name}", f"pull_policy {service.pull_policy} has no Kubernetes equivalent"
            )
    if service.tty:
        c["tty"] = True
    if service.stdin_open:
        c["stdin"] = True
    return c


def container_ports(service: Service) -> list[dict[str, Any]]:
    """Every port the container listens on (ports and expose), once each; `mode: host` ports also take the
    node's port as Swarm's host mode does."""
    seen: dict[tuple[int, str], dict[str, Any]] = {}
    for port in service.ports:
        entry = seen.setdefault(
            (port.target, port.protocol), {"containerPort": port.target, "protocol": port.protocol.upper()}
        )
        if port.mode == "host" and port.published:
            entry["hostPort"] = int(port.published.split("-")[0])
    for spec in service.expose:
        number, _, proto = str(spec).partition("/")
        start, _, end = number.partition("-")
        for target in range(int(start), int(end or start) + 1):
            seen.setdefault(
                (target, proto or "tcp"), {"containerPort": target, "protocol": (proto or "tcp").upper()}
            )
    return list(seen.values())


def _probe(check: Healthcheck | None) -> dict[str, Any] | None:
    if check is None or check.disable or not check.test or check.test[0] == "NONE":
        return None
    kind, *rest = check.test
    command = ["/bin/sh", "-c", rest[0]] if kind == "CMD-SHELL" else rest
    probe: dict[str, Any] = {
        "exec": {"command": command},
        "periodSeconds": seconds(check.interval, 30),
        "timeoutSeconds": seconds(check.timeout, 30),
        "failureThreshold": check.retries if check.retries is not None else 3,
    }
    if check.start_period:
        probe["initialDelaySeconds"] = seconds(check.start_period, 0)
    return probe


def _resources(conv: Conversion, service: Service) -> dict[str, Any]:
    """deploy.resources wins over the service-level mem_limit/cpus, as it does for Compose."""
    limits: dict[str, str] = {}
    requests: dict[str, str] = {}
    if service.mem_limit:
        limits["memory"] = str(service.mem_limit)
    if service.cpus:
        limits["cpu"] = _cpu(service.cpus)
    if service.mem_reservation:
        requests["memory"] = str(service.mem_reservation)
    deploy_resources = (service.deploy or {}).get("resources") or {}
    for key, target in (("limits", limits), ("reservations", requests)):
        spec = deploy_resources.get(key) or {}
        if spec.get("memory"):
            target["memory"] = str(parse_bytes(spec["memory"]))
        if spec.get("cpus"):
            target["cpu"] = _cpu(float(spec["cpus"]))
        for other in sorted(set(spec) - {"memory", "cpus"}):
            conv.warn(
                f"service {service.name}", f"deploy.resources.{key}.{other} has no Kubernetes equivalent"
            )
    out: dict[str, Any] = {}
    if limits:
        out["limits"] = limits
    if requests:
        out["requests"] = requests
    return out


def _cpu(cpus: float) -> str:
    return f"{round(cpus * 1000)}m"


def _container_security(conv: Conversion, service: Service) -> dict[str, Any]:
    security: dict[str, Any] = {}
    if service.privileged:
        security["privileged"] = True
    if service.read_only:
        security["readOnlyRootFilesystem"] = True
    caps: dict[str, list[str]] = {}
    if service.cap_add:
        caps["add"] = [c.removeprefix("CAP_") for c in service.cap_add]
    if service.cap_drop:
        caps["drop"] = [c.removeprefix("CAP_") for c in service.cap_drop]
    if caps:
        security["capabilities"] = caps
    if service.user:
        user, _, group = service.user.partition(":")
        if user.isdigit() and (not group or group.isdigit()):
            security["runAsUser"] = int(user)
            if group:
                security["runAsGroup"] = int(group)
        else:
            conv.warn(
                f"service {service.name}", f"user {service.user!r} is not numeric: Kubernetes needs a uid"
            )
    return security


def _lifecycle(conv: Conversion, service: Service) -> dict[str, Any]:
    """post_start/pre_stop hooks as postStart/preStop exec handlers (one command each in Kubernetes)."""
    lifecycle: dict[str, Any] = {}
    for key, hook in (("post_start", "postStart"), ("pre_stop", "preStop")):
        hooks = service.options.get(key) or ()
        if not hooks:
            continue
        first = hooks[0]
        lifecycle[hook] = {"exec": {"command": list(first.get("command") or [])}}
        if len(hooks) > 1 or any(k not in ("command",) for k in first):
            conv.warn(
                f"service {service.name}",
                f"{key}: only the first hook's command is converted (no user, privileged, environment)",
            )
    return lifecycle


def pod_spec(conv: Conversion, service: Service, main: dict[str, Any], storage: PodStorage) -> dict[str, Any]:
    where = f"service {service.name}"
    spec: dict[str, Any] = {}
    waits = wait_containers(conv, service)
    if waits:
        spec["initContainers"] = waits
    spec["containers"] = [main]
    if storage.volumes:
        spec["volumes"] = storage.volumes
    if service.network_mode == "host":
        spec["hostNetwork"] = True
    elif service.network_mode not in (None, "bridge", "default"):
        conv.warn(where, f"network_mode {service.network_mode} has no Kubernetes equivalent")
    for key, field_name in (("pid", "hostPID"), ("ipc", "hostIPC")):
        value = getattr(service, key)
        if value == "host":
            spec[field_name] = True
        elif value:
            conv.warn(where, f"{key} {value} has no Kubernetes equivalent")
    if service.hostname:
        spec["hostname"] = dns_label(service.hostname)
    if service.stop_grace_period:
        spec["terminationGracePeriodSeconds"] = seconds(service.stop_grace_period, 10)
    aliases = _host_aliases(service.extra_hosts)
    if aliases:
        spec["hostAliases"] = aliases
    dns: dict[str, Any] = {}
    if service.dns:
        dns["nameservers"] = list(service.dns)
    if service.dns_search:
        dns["searches"] = list(service.dns_search)
    if service.dns_opt:
        dns["options"] = [
            dict(zip(("name", "value"), o.split(":", 1), strict=False)) for o in service.dns_opt
        ]
    if dns:
        spec["dnsConfig"] = dns
    pod_security: dict[str, Any] = {}
    if service.sysctls:
        pod_security["sysctls"] = [{"name": k, "value": str(v)} for k, v in service.sysctls.items()]
    groups = [int(g) for g in service.group_add if str(g).isdigit()]
    if groups:
        pod_security["supplementalGroups"] = groups
    if len(groups) != len(service.group_add):
        conv.warn(where, "group_add names that are not numeric gids are not converted")
    if pod_security:
        spec["securityContext"] = pod_security
    if service.platform:
        os_name, _, arch = service.platform.partition("/")
        spec["nodeSelector"] = {"kubernetes.io/os": os_name, **({"kubernetes.io/arch": arch} if arch else {})}
    return spec


def _host_aliases(extra_hosts: tuple[str, ...]) -> list[dict[str, Any]]:
    by_ip: dict[str, list[str]] = {}
    for entry in extra_hosts:
        sep = "=" if "=" in entry else ":"
        host, _, ip = entry.partition(sep)
        by_ip.setdefault(ip.strip("[]"), []).append(host)
    return [{"ip": ip, "hostnames": hosts} for ip, hosts in by_ip.items()]


def wait_containers(conv: Conversion, service: Service) -> list[dict[str, Any]]:
    """depends_on as init containers that wait until the dependency's Service accepts connections on its
    first port. A Service only routes to ready pods, so with a readiness probe this also waits for
    `service_healthy`. A dependency without ports, or one that must complete, cannot be expressed."""
    waits = []
    for name, dep in service.depends_on.items():
        target = conv.project.services.get(name)
        if target is None or not dep.required:
            continue
        where = f"service {service.name}"
        if dep.condition == "service_completed_successfully":
            conv.warn(
                where, f"depends_on {name}: service_completed_successfully has no Kubernetes equivalent"
            )
            continue
        ports = container_ports(target)
        if not ports:
            conv.warn(
                where, f"depends_on {name}: {name} has no port to wait for; start order is not converted"
            )
            continue
        host, port = dns_label(name), ports[0]["containerPort"]
        waits.append(
            {
                "name": dns_label(f"wait-for-{name}"),
                "image": WAIT_IMAGE,
                "command": [
                    "sh",
                    "-c",
                    f"until nc -z -w 2 {host} {port}; do echo waiting for {host}:{port}; sleep 1; done",
                ],
            }
        )
    return waits


# Fields whose Compose meaning has no counterpart, with the reason users read in the warning.
_REASONS: Mapping[str, str] = {
    "init": "use an image with its own init process",
    "container_name": "pods are named by their controller",
    "stop_signal": "Kubernetes sends SIGTERM",
    "networks": "Kubernetes has one flat pod network",
    "links": "services reach each other by Service name",
}


def unconverted(conv: Conversion, service: Service) -> None:
    """Warn for every field the service sets that nothing in this package converts."""
    where = f"service {service.name}"
    for spec in fields(service):
        value = getattr(service, spec.name)
        if (
            spec.name in HANDLED
            or value in (None, False, (), {})
            or (hasattr(value, "__len__") and not value)
        ):
            continue
        reason = _REASONS.get(spec.name, "not converted")
        conv.warn(where, f"{spec.name} has no Kubernetes equivalent ({reason})")
    for key in service.options:
        if key not in HANDLED_OPTIONS and not str(key).startswith("x-"):
            conv.warn(where, f"{key} has no Kubernetes equivalent (not converted)")
    detailed = [
        cfg
        for cfg in service.networks.values()
        if cfg is not None and (cfg.aliases or cfg.ipv4_address or cfg.ipv6_address)
    ]
    if len(service.networks) > 1 or detailed:
        conv.warn(
            where,
            "networks: Kubernetes has one flat pod network (aliases, addresses, isolation not converted)",
        )
    for link in service.links:
        name, _, alias = link.partition(":")
        if alias and alias != name:
            conv.warn(where, f"link alias {alias} is not converted (reach {name} by its Service name)")
