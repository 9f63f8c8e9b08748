"""A Compose project as Kubernetes manifests (`composer convert --format kubernetes`).

The conversion is pure: the loaded project in, a list of API objects and warnings out, nothing sent
anywhere. Objects come in the order `kubectl apply -f` wants them (what pods mount before the pods);
every Compose field without a Kubernetes counterpart is named in one warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from composer.model import Project

# Creation order: what workloads refer to first.
KIND_ORDER = (
    "Secret",
    "ConfigMap",
    "PersistentVolumeClaim",
    "Service",
    "StatefulSet",
    "Deployment",
    "DaemonSet",
    "Job",
)


@dataclass(frozen=True)
class Manifests:
    objects: tuple[dict[str, Any], ...]
    warnings: tuple[str, ...]


def to_kubernetes(project: Project, project_dir: str, environment: Mapping[str, str]) -> Manifests:
    from composer.kube.context import Conversion
    from composer.kube.storage import volume_users
    from composer.kube.workload import convert_service

    conv = Conversion(project, project_dir, environment)
    users = volume_users(conv)
    for service in project.services.values():
        convert_service(conv, service, users)
    for key, network in project.networks.items():
        if network.internal or network.ipam or network.driver not in (None, "bridge"):
            conv.warn(
                f"network {key}",
                "driver, ipam and internal have no Kubernetes equivalent (one flat pod network)",
            )
    ordered = sorted(conv.objects.items(), key=lambda item: (KIND_ORDER.index(item[0][0]), item[0][1]))
    return Manifests(tuple(obj for _, obj in ordered), tuple(conv.warnings))
