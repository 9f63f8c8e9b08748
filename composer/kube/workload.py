"""A service's controller (Deployment, StatefulSet, DaemonSet or Job) and its Services.

- `deploy.mode: global` -> DaemonSet; `replicated-job`/`global-job` -> Job; a service with a named volume
  of its own -> StatefulSet (ordered start, a claim per replica); everything else -> Deployment.
- In the cluster a service is reached by its name on its container ports, as on a Compose network:
  a ClusterIP Service (headless for `endpoint_mode: dnsrr`). Published `ingress` ports become a
  LoadBalancer Service `<name>-published` mapping the published port to the container port; `host`
  mode ports are hostPorts on the container.
"""

from __future__ import annotations

from typing import Any

from composer.kube.context import Conversion
from composer.kube.names import dns_label, object_labels, selector
from composer.kube.pod import container, container_ports, pod_spec, unconverted
from composer.kube.storage import service_storage
from composer.model import Service


def convert_service(conv: Conversion, service: Service, users: dict[str, set[str]]) -> None:
    where = f"service {service.name}"
    project = conv.project.name
    image = service.image or f"{project}-{service.name}"
    if service.build is not None:
        conv.warn(where, f"build is not converted: push {image} to a registry the cluster pulls from")
    storage = service_storage(conv, service, users)
    main = container(conv, service, image, storage)
    pod = pod_spec(conv, service, main, storage)
    unconverted(conv, service)
    deploy = service.deploy or {}
    mode = deploy.get("mode", "replicated")
    kind = _kind(mode, bool(storage.claim_templates))
    name = dns_label(service.name)
    template: dict[str, Any] = {"metadata": {"labels": selector(project, service.name)}, "spec": pod}
    annotations = {**service.labels, **service.annotations}
    if annotations:
        template["metadata"]["annotations"] = dict(annotations)
    _restart(conv, service, kind, pod)
    spec: dict[str, Any] = {}
    if kind in ("Deployment", "StatefulSet"):
        spec["replicas"] = service.replicas
    if kind == "Job":
        count = int(deploy.get("replicas", 1)) if mode == "replicated-job" else 1
        if mode == "global-job":
            conv.warn(where, "deploy.mode global-job becomes a Job with one completion (no per-node jobs)")
        spec.update({"completions": count, "parallelism": count})
    else:
        spec["selector"] = {"matchLabels": selector(project, service.name)}
    if kind == "StatefulSet":
        spec["serviceName"] = name
        spec["volumeClaimTemplates"] = storage.claim_templates
    strategy = _update_strategy(conv, service, kind)
    if strategy:
        spec["updateStrategy" if kind in ("StatefulSet", "DaemonSet") else "strategy"] = strategy
    _placement(conv, service, pod)
    spec["template"] = template
    metadata: dict[str, Any] = {"name": name, "labels": object_labels(project, service.name)}
    if deploy.get("labels"):
        metadata["annotations"] = dict(deploy["labels"])
    api = "batch/v1" if kind == "Job" else "apps/v1"
    conv.add({"apiVersion": api, "kind": kind, "metadata": metadata, "spec": spec})
    _services(conv, service, kind)


def _kind(mode: str, has_own_volume: bool) -> str:
    if mode == "global":
        return "DaemonSet"
    if mode in ("replicated-job", "global-job"):
        return "Job"
    return "StatefulSet" if has_own_volume else "Deployment"


def _restart(conv: Conversion, service: Service, kind: str, pod: dict[str, Any]) -> None:
    """Controllers of long-running pods always restart them; a Job follows the restart policy."""
    condition = ((service.deploy or {}).get("restart_policy") or {}).get("condition")
    wanted = service.restart or condition
    if kind == "Job":
        pod["restartPolicy"] = "Never" if wanted in ("no", "none") else "OnFailure"
    elif wanted not in (None, "always", "any", "unless-stopped"):
        conv.warn(f"service {service.name}", f"restart {wanted}: a {kind} always restarts its containers")


def _update_strategy(conv: Conversion, service: Service, kind: str) -> dict[str, Any]:
    """deploy.update_config: `order: start-first` surges new pods before removing old ones (maxSurge),
    `stop-first` removes first (maxUnavailable); `parallelism` is how many at a time (0 = all)."""
    update = (service.deploy or {}).get("update_config") or {}
    if not update or kind == "Job":
        return {}
    where = f"service {service.name}"
    parallelism = update.get("parallelism", 1)
    step: int | str = "100%" if parallelism == 0 else int(parallelism)
    rolling: dict[str, Any]
    if update.get("order") == "start-first" and kind == "Deployment":
        rolling = {"maxSurge": step, "maxUnavailable": 0}
    else:
        if update.get("order") == "start-first":
            conv.warn(where, f"update_config order start-first is not available for a {kind}")
        rolling = {"maxUnavailable": step}
        if kind == "Deployment":
            rolling["maxSurge"] = 0
    for key in ("delay", "failure_action", "monitor", "max_failure_ratio"):
        if key in update:
            conv.warn(where, f"deploy.update_config.{key} has no Kubernetes equivalent")
    if (service.deploy or {}).get("rollback_config"):
        conv.warn(where, "deploy.rollback_config has no Kubernetes equivalent (kubectl rollout undo)")
    return {"type": "RollingUpdate", "rollingUpdate": rolling}


def _placement(conv: Conversion, service: Service, pod: dict[str, Any]) -> None:
    """Swarm constraints on node labels and hostname as a nodeSelector (==) and node affinity (!=)."""
    placement = (service.deploy or {}).get("placement") or {}
    where = f"service {service.name}"
    selector_terms: dict[str, str] = dict(pod.get("nodeSelector") or {})
    excluded: list[dict[str, Any]] = []
    for constraint in placement.get("constraints") or ():
        op = "==" if "==" in constraint else "!=" if "!=" in constraint else None
        left, _, right = constraint.partition(op or "==")
        key = left.strip()
        label = (
            "kubernetes.io/hostname"
            if key == "node.hostname"
            else key.removeprefix("node.labels.")
            if key.startswith("node.labels.")
            else None
        )
        if op is None or label is None:
            conv.warn(where, f"placement constraint {constraint!r} has no Kubernetes equivalent")
        elif op == "==":
            selector_terms[label] = right.strip()
        else:
            excluded.append({"key": label, "operator": "NotIn", "values": [right.strip()]})
    if selector_terms:
        pod["nodeSelector"] = selector_terms
    if excluded:
        pod["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": excluded}]
                }
            }
        }
    for key in ("preferences", "max_replicas_per_node"):
        if placement.get(key):
            conv.warn(where, f"deploy.placement.{key} has no Kubernetes equivalent")


def _services(conv: Conversion, service: Service, kind: str) -> None:
    project = conv.project.name
    name = dns_label(service.name)
    ports = [
        {
            "name": f"{p['protocol'].lower()}-{p['containerPort']}",
            "port": p["containerPort"],
            "targetPort": p["containerPort"],
            "protocol": p["protocol"],
        }
        for p in container_ports(service)
    ]
    headless = (service.deploy or {}).get("endpoint_mode") == "dnsrr"
    if ports or kind == "StatefulSet":
        spec: dict[str, Any] = {"selector": selector(project, service.name)}
        if ports:
            spec["ports"] = ports
        if headless or not ports:
            spec["clusterIP"] = "None"
        conv.add(_service_object(conv, name, service.name, spec))
    published = [p for p in service.ports if p.published and p.mode != "host"]
    if published:
        out = []
        for p in published:
            if p.host_ip:
                conv.warn(
                    f"service {service.name}", f"host_ip {p.host_ip} of port {p.target} is not converted"
                )
            number = int(p.published.split("-")[0])  # type: ignore[union-attr]
            out.append(
                {
                    "name": f"{p.protocol}-{number}",
                    "port": number,
                    "targetPort": p.target,
                    "protocol": p.protocol.upper(),
                }
            )
        spec = {"type": "LoadBalancer", "selector": selector(project, service.name), "ports": out}
        conv.add(_service_object(conv, dns_label(f"{service.name}-published"), service.name, spec))


def _service_object(conv: Conversion, name: str, service: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": object_labels(conv.project.name, service)},
        "spec": spec,
    }
