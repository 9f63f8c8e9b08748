"""A Compose project as the Swarm objects `docker stack deploy` makes of it: overlay networks, secrets and
configs, and one service spec per Compose service (Engine API `ServiceSpec`), all labelled with the stack
namespace and named `<stack>_<key>`.

Secrets and configs are immutable in Swarm, so their names carry a digest of their content
(`<stack>_<key>_<digest>`): a changed secret is a new object, the services using it are updated to it (a
rolling update), and the old one is removed once nothing uses it.

Every service spec carries `SPEC_HASH`, a digest of the rest of the spec: the plan compares it with what the
manager has instead of diffing the manager's spec, which Swarm fills with defaults. Settings Swarm cannot
honour are named once each in `Desired.warnings`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from composer.canonical.units import parse_bytes, parse_duration
from composer.errors import ComposerError
from composer.filerefs import source_bytes
from composer.model import Project, Service

NAMESPACE = "com.docker.stack.namespace"  # the label `docker stack` finds a stack's objects by
IMAGE_LABEL = "com.docker.stack.image"
SPEC_HASH = "com.docker.composer.stack.spec-hash"

# Compose settings a Swarm service has no place for (as `docker stack deploy` ignores them), with why.
UNSUPPORTED = {
    "build": "build and push the image first (composer build --push)",
    "container_name": "tasks are named by Swarm",
    "depends_on": "Swarm starts services in no order",
    "links": "services reach each other by name on their networks",
    "network_mode": "tasks join the stack's overlay networks",
    "privileged": "Swarm services cannot be privileged",
    "devices": "Swarm services cannot use devices",
    "ipc": "not settable on a Swarm service",
    "pid": "not settable on a Swarm service",
    "security_opt": "not settable on a Swarm service",
    "userns_mode": "not settable on a Swarm service",
    "cgroup_parent": "not settable on a Swarm service",
    "external_links": "not settable on a Swarm service",
    "volumes_from": "not settable on a Swarm service",
    "mac_address": "not settable on a Swarm service",
    "cpu_shares": "use deploy.resources",
    "mem_reservation": "use deploy.resources.reservations",
    "shm_size": "not settable on a Swarm service",
    "tmpfs": "use a tmpfs mount in volumes",
}


@dataclass
class Desired:
    stack: str
    networks: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> NetworkCreate body
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> SecretSpec (Data base64)
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> ConfigSpec
    services: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> ServiceSpec
    external: set[str] = field(default_factory=set)  # names of external networks/secrets/configs used
    warnings: list[str] = field(default_factory=list)

    def warn(self, service: str, key: str, why: str) -> None:
        line = f"service {service}: {key} is not supported by Swarm ({why})"
        if line not in self.warnings:
            self.warnings.append(line)


def scoped(stack: str, name: str) -> str:
    return f"{stack}_{name}"


def desired_stack(stack: str, project: Project, environment: Mapping[str, str]) -> Desired:
    desired = Desired(stack)
    labels = {NAMESPACE: stack}
    used_networks: set[str] = {net for s in project.services.values() for net in (s.networks or ("default",))}
    for key in sorted(used_networks):
        network = project.networks.get(key)
        if network is not None and network.external:
            desired.external.add(network.name)
            continue
        name = scoped(stack, key)
        body: dict[str, Any] = {
            "Name": name,
            "Driver": (network.driver if network and network.driver else "overlay"),
            "Labels": {**(dict(network.labels) if network else {}), **labels},
            "Attachable": bool(network and network.attachable),
            "Internal": bool(network and network.internal),
            "CheckDuplicate": True,
        }
        if network and network.driver_opts:
            body["Options"] = dict(network.driver_opts)
        config = (network.ipam.get("config") if network else None) or []
        if config:
            body["IPAM"] = {
                "Driver": "default",
                "Config": [{"Subnet": c.get("subnet"), "Gateway": c.get("gateway")} for c in config],
            }
        desired.networks[name] = body
    refs: dict[str, dict[str, str]] = {"secrets": {}, "configs": {}}
    for kind, resources in (("secrets", project.secrets), ("configs", project.configs)):
        for key, resource in resources.items():
            if resource.external:
                refs[kind][key] = resource.name
                desired.external.add(resource.name)
                continue
            data = source_bytes("secret" if kind == "secrets" else "config", resource, environment)
            name = f"{scoped(stack, key)}_{hashlib.sha256(data).hexdigest()[:10]}"
            spec = {
                "Name": name,
                "Labels": {**dict(resource.labels), **labels},
                "Data": base64.b64encode(data).decode(),
            }
            getattr(desired, kind)[name] = spec
            refs[kind][key] = name
    for service in project.services.values():
        spec = service_spec(desired, service, refs, project)
        desired.services[str(spec["Name"])] = spec
    return desired


def _ns(duration: str | None) -> int | None:
    return parse_duration(duration) if duration is not None else None


def service_spec(
    desired: Desired, service: Service, refs: dict[str, dict[str, str]], project: Project
) -> dict[str, Any]:
    stack = desired.stack
    deploy = service.deploy or {}
    for key, why in UNSUPPORTED.items():
        value = getattr(service, key, None)
        if value not in (None, False, (), {}) and not (hasattr(value, "__len__") and not value):
            desired.warn(service.name, key, why)
    if service.image is None:
        raise ComposerError(f"service {service.name} has no image: stack deploy needs an image in a registry")
    container: dict[str, Any] = {
        "Image": service.image,
        "Labels": {**dict(service.labels), NAMESPACE: stack},
    }
    if service.entrypoint is not None:
        container["Command"] = list(service.entrypoint)
    if service.command is not None:
        container["Args"] = list(service.command)
    for key, attr in (
        ("Hostname", "hostname"),
        ("Dir", "working_dir"),
        ("User", "user"),
        ("StopSignal", "stop_signal"),
    ):
        if getattr(service, attr):
            container[key] = getattr(service, attr)
    env = [f"{k}={v}" if v is not None else k for k, v in sorted(service.environment.items())]
    if env:
        container["Env"] = env
    if service.stop_grace_period:
        container["StopGracePeriod"] = _ns(service.stop_grace_period)
    for key, attr in (("TTY", "tty"), ("OpenStdin", "stdin_open"), ("ReadOnly", "read_only")):
        if getattr(service, attr):
            container[key] = True
    if service.init is not None:
        container["Init"] = service.init
    if service.healthcheck is not None:
        check = service.healthcheck
        health: dict[str, Any] = {"Test": ["NONE"] if check.disable else list(check.test or ())}
        for key, attr in (("Interval", "interval"), ("Timeout", "timeout"), ("StartPeriod", "start_period")):
            if getattr(check, attr):
                health[key] = _ns(getattr(check, attr))
        if check.retries is not None:
            health["Retries"] = check.retries
        container["Healthcheck"] = health
    if service.extra_hosts:
        container["Hosts"] = [_host_line(h) for h in service.extra_hosts]
    dns = {
        k: list(v)
        for k, v in (
            ("Nameservers", service.dns),
            ("Search", service.dns_search),
            ("Options", service.dns_opt),
        )
        if v
    }
    if dns:
        container["DNSConfig"] = dns
    if service.sysctls:
        container["Sysctls"] = dict(service.sysctls)
    if service.cap_add:
        container["CapabilityAdd"] = list(service.cap_add)
    if service.cap_drop:
        container["CapabilityDrop"] = list(service.cap_drop)
    mounts = [_mount(stack, m, project) for m in service.volumes]
    if mounts:
        container["Mounts"] = mounts
    for kind, field_name in (("secrets", "Secrets"), ("configs", "Configs")):
        refs_of_kind = getattr(service, kind)
        if refs_of_kind:
            container[field_name] = [_file_ref(kind, r, refs[kind]) for r in refs_of_kind]
    task: dict[str, Any] = {"ContainerSpec": container, "ForceUpdate": 0}
    resources = _resources(service)
    if resources:
        task["Resources"] = resources
    restart = _restart_policy(service)
    if restart:
        task["RestartPolicy"] = restart
    placement = _placement(deploy.get("placement") or {})
    if placement:
        task["Placement"] = placement
    task["Networks"] = [
        {
            "Target": scoped(stack, net)
            if not (project.networks.get(net) and project.networks[net].external)
            else project.networks[net].name,
            "Aliases": [service.name, *(cfg.aliases if cfg else ())],
        }
        for net, cfg in sorted((service.networks or {"default": None}).items())
    ]
    if service.logging:
        task["LogDriver"] = {
            "Name": service.logging.get("driver", "json-file"),
            "Options": dict(service.logging.get("options") or {}),
        }
    spec: dict[str, Any] = {
        "Name": scoped(stack, service.name),
        "Labels": {**dict(deploy.get("labels") or {}), NAMESPACE: stack, IMAGE_LABEL: service.image},
        "TaskTemplate": task,
        "Mode": _mode(service),
        "EndpointSpec": _endpoint(service),
    }
    for key, field_name in (("update_config", "UpdateConfig"), ("rollback_config", "RollbackConfig")):
        if deploy.get(key):
            spec[field_name] = _update_config(deploy[key])
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
    spec["Labels"][SPEC_HASH] = digest
    return spec


def _host_line(entry: str) -> str:
    """extra_hosts "name=ip" / "name:ip" as Swarm's hosts-file line "ip name"."""
    sep = "=" if "=" in entry else ":"
    host, _, ip = entry.partition(sep)
    return f"{ip.strip('[]')} {host}"


def _mount(stack: str, mount: Any, project: Project) -> dict[str, Any]:
    out: dict[str, Any] = {"Type": mount.type, "Target": mount.target}
    if mount.read_only:
        out["ReadOnly"] = True
    if mount.type == "volume":
        if mount.source:
            volume = project.volumes.get(mount.source)
            external = volume is not None and volume.external
            out["Source"] = volume.name if external and volume else scoped(stack, mount.source)
            options: dict[str, Any] = {"Labels": {NAMESPACE: stack}}
            if volume is not None and not external and (volume.driver or volume.driver_opts):
                options["DriverConfig"] = {
                    "Name": volume.driver or "local",
                    "Options": dict(volume.driver_opts),
                }
            out["VolumeOptions"] = options
    elif mount.type == "bind":
        out["Source"] = mount.source
    elif mount.type == "tmpfs" and mount.tmpfs_size:
        out["TmpfsOptions"] = {"SizeBytes": mount.tmpfs_size}
    return out


def _file_ref(kind: str, ref: Any, names: Mapping[str, str]) -> dict[str, Any]:
    target = ref.target or ref.source
    if kind == "secrets" and target.startswith("/run/secrets/"):
        target = target.removeprefix("/run/secrets/")
    mode = int(str(ref.mode), 8) if ref.mode is not None else 0o444
    entry: dict[str, Any] = {
        "File": {"Name": target, "UID": str(ref.uid or "0"), "GID": str(ref.gid or "0"), "Mode": mode},
        ("SecretName" if kind == "secrets" else "ConfigName"): names[ref.source],
    }
    return entry


def _resources(service: Service) -> dict[str, Any]:
    spec = ((service.deploy or {}).get("resources")) or {}
    out: dict[str, Any] = {}
    for key, field_name in (("limits", "Limits"), ("reservations", "Reservations")):
        part = spec.get(key) or {}
        values: dict[str, Any] = {}
        if part.get("cpus"):
            values["NanoCPUs"] = int(float(part["cpus"]) * 1e9)
        if part.get("memory"):
            values["MemoryBytes"] = parse_bytes(part["memory"])
        if key == "limits" and part.get("pids"):
            values["Pids"] = int(part["pids"])
        if values:
            out[field_name] = values
    limits = out.setdefault("Limits", {})
    if service.mem_limit and "MemoryBytes" not in limits:
        limits["MemoryBytes"] = service.mem_limit
    if service.cpus and "NanoCPUs" not in limits:
        limits["NanoCPUs"] = int(service.cpus * 1e9)
    if not limits:
        del out["Limits"]
    return out


def _restart_policy(service: Service) -> dict[str, Any]:
    """deploy.restart_policy, else `restart` as `docker stack deploy` reads it."""
    policy = (service.deploy or {}).get("restart_policy")
    if policy:
        out: dict[str, Any] = {"Condition": policy.get("condition", "any")}
        if policy.get("delay"):
            out["Delay"] = _ns(policy["delay"])
        if policy.get("max_attempts") is not None:
            out["MaxAttempts"] = int(policy["max_attempts"])
        if policy.get("window"):
            out["Window"] = _ns(policy["window"])
        return out
    restart = service.restart
    if restart is None:
        return {}
    if restart == "no":
        return {"Condition": "none"}
    if restart in ("always", "unless-stopped"):
        return {"Condition": "any"}
    name, _, attempts = restart.partition(":")
    return {"Condition": "on-failure", **({"MaxAttempts": int(attempts)} if attempts else {})}


def _placement(placement: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if placement.get("constraints"):
        out["Constraints"] = list(placement["constraints"])
    if placement.get("preferences"):
        out["Preferences"] = [{"Spread": {"SpreadDescriptor": p["spread"]}} for p in placement["preferences"]]
    if placement.get("max_replicas_per_node"):
        out["MaxReplicas"] = int(placement["max_replicas_per_node"])
    return out


def _mode(service: Service) -> dict[str, Any]:
    deploy = service.deploy or {}
    mode = deploy.get("mode", "replicated")
    if mode == "global":
        return {"Global": {}}
    if mode == "global-job":
        return {"GlobalJob": {}}
    if mode == "replicated-job":
        count = int(deploy.get("replicas", 1))
        return {"ReplicatedJob": {"MaxConcurrent": count, "TotalCompletions": count}}
    return {"Replicated": {"Replicas": service.replicas}}


def _endpoint(service: Service) -> dict[str, Any]:
    out: dict[str, Any] = {"Mode": (service.deploy or {}).get("endpoint_mode", "vip")}
    ports = []
    for port in service.ports:
        entry: dict[str, Any] = {
            "Protocol": port.protocol,
            "TargetPort": port.target,
            "PublishMode": port.mode,
        }
        if port.published:
            entry["PublishedPort"] = int(str(port.published).split("-")[0])
        ports.append(entry)
    if ports:
        out["Ports"] = ports
    return out


def _update_config(config: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"Parallelism": int(config.get("parallelism", 1))}
    for key, field_name in (("delay", "Delay"), ("monitor", "Monitor")):
        if config.get(key):
            out[field_name] = _ns(config[key])
    for key, field_name in (("failure_action", "FailureAction"), ("order", "Order")):
        if config.get(key):
            out[field_name] = config[key]
    if config.get("max_failure_ratio") is not None:
        out["MaxFailureRatio"] = float(config["max_failure_ratio"])
    return out
