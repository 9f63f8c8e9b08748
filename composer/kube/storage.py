"""A service's files and storage as Kubernetes sees them: named volumes -> PersistentVolumeClaims (or
StatefulSet claim templates), small project files bound into a container -> ConfigMaps, secrets and
configs -> Secrets and ConfigMaps, tmpfs and anonymous volumes -> emptyDir.

Each function returns the pod `volumes` and container `volumeMounts` entries it made and adds the objects
they refer to to the Conversion."""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from composer.kube.context import Conversion
from composer.kube.names import dns_label, object_labels
from composer.model import FileRef, Mount, Resource, Service

# A bind of project files becomes a ConfigMap only while it fits one (the API's limit is 1 MiB).
CONFIGMAP_LIMIT = 1 << 20
DEFAULT_CLAIM_SIZE = "1Gi"


@dataclass
class PodStorage:
    volumes: list[dict[str, Any]] = field(default_factory=list)
    mounts: list[dict[str, Any]] = field(default_factory=list)
    claim_templates: list[dict[str, Any]] = field(default_factory=list)  # StatefulSet volumeClaimTemplates

    def add(self, volume: dict[str, Any] | None, mount: dict[str, Any]) -> None:
        if volume is not None and all(v["name"] != volume["name"] for v in self.volumes):
            self.volumes.append(volume)
        self.mounts.append(mount)


def volume_users(conv: Conversion) -> dict[str, set[str]]:
    """Named volume key -> the services that mount it."""
    users: dict[str, set[str]] = {}
    for service in conv.project.services.values():
        for mount in service.volumes:
            if mount.type == "volume" and mount.source:
                users.setdefault(mount.source, set()).add(service.name)
    return users


def service_storage(conv: Conversion, service: Service, users: dict[str, set[str]]) -> PodStorage:
    storage = PodStorage()
    where = f"service {service.name}"
    for index, mount in enumerate(service.volumes):
        if mount.type == "volume" and mount.source:
            _named_volume(conv, service, mount, users, storage)
        elif mount.type == "volume" or mount.type == "tmpfs":
            name = f"scratch-{index}"
            empty: dict[str, Any] = {}
            if mount.type == "tmpfs":
                empty["medium"] = "Memory"
                if mount.tmpfs_size:
                    empty["sizeLimit"] = str(mount.tmpfs_size)
            storage.add({"name": name, "emptyDir": empty}, _mount(name, mount.target, mount.read_only))
        elif mount.type == "bind":
            _bind(conv, service, mount, index, storage)
        else:
            conv.warn(where, f"volume of type {mount.type} at {mount.target} has no Kubernetes equivalent")
    for index, spec in enumerate(service.tmpfs):
        target, _, options = spec.partition(":")
        empty = {"medium": "Memory"}
        size = dict(o.split("=", 1) for o in options.split(",") if "=" in o).get("size")
        if size:
            from composer.canonical.units import parse_bytes

            empty["sizeLimit"] = str(parse_bytes(size))
        name = f"tmpfs-{index}"
        storage.add({"name": name, "emptyDir": empty}, _mount(name, target, False))
    if service.shm_size:
        # The usual Kubernetes spelling of a bigger /dev/shm: a memory-backed emptyDir mounted over it.
        storage.add(
            {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": str(service.shm_size)}},
            _mount("dshm", "/dev/shm", False),
        )
    for ref in service.secrets:
        _file_object(conv, service, ref, "Secret", storage)
    for ref in service.configs:
        _file_object(conv, service, ref, "ConfigMap", storage)
    return storage


def _mount(name: str, path: str, read_only: bool, sub_path: str | None = None) -> dict[str, Any]:
    mount: dict[str, Any] = {"name": name, "mountPath": path}
    if sub_path:
        mount["subPath"] = sub_path
    if read_only:
        mount["readOnly"] = True
    return mount


def _named_volume(
    conv: Conversion, service: Service, mount: Mount, users: dict[str, set[str]], storage: PodStorage
) -> None:
    """A volume only this service mounts becomes a claim template of its StatefulSet (each replica keeps
    its own); one shared by several services becomes one ReadWriteMany claim they all mount."""
    assert mount.source is not None
    resource = conv.project.volumes.get(mount.source)
    claim = dns_label(resource.name if resource else mount.source)
    where = f"volume {mount.source}"
    if resource is not None and (resource.driver or resource.driver_opts):
        conv.warn(
            where,
            "driver and driver_opts have no Kubernetes equivalent (the default storage class is used)",
        )
    sub_path = (mount.volume or {}).get("subpath")
    volume_mount = _mount(claim, mount.target, mount.read_only, sub_path)
    external = resource is not None and resource.external
    if len(users.get(mount.source, ())) == 1 and not external:
        if service.replicas > 1:
            conv.warn(
                f"service {service.name}",
                f"its {service.replicas} replicas share volume {mount.source} under Compose; "
                "each StatefulSet replica gets a claim of its own",
            )
        if all(t["metadata"]["name"] != claim for t in storage.claim_templates):
            storage.claim_templates.append(_claim(claim, "ReadWriteOnce", conv, mount.source, template=True))
        storage.add(None, volume_mount)
        return
    if not external:
        conv.add(_claim(claim, "ReadWriteMany", conv, mount.source, template=False))
    storage.add({"name": claim, "persistentVolumeClaim": {"claimName": claim}}, volume_mount)


def _claim(name: str, mode: str, conv: Conversion, key: str, *, template: bool) -> dict[str, Any]:
    claim: dict[str, Any] = {
        "metadata": {"name": name, "labels": object_labels(conv.project.name)},
        "spec": {"accessModes": [mode], "resources": {"requests": {"storage": DEFAULT_CLAIM_SIZE}}},
    }
    if not template:
        claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", **claim}
    claim["metadata"]["annotations"] = {"composer.io/volume": key}
    return claim


def _bind(conv: Conversion, service: Service, mount: Mount, index: int, storage: PodStorage) -> None:
    """Files of the project bound into a container travel with the manifests as a ConfigMap; any other
    host path can only be a hostPath, which depends on what each node has."""
    source = Path(mount.source or "")
    where = f"service {service.name}"
    files = _project_files(source, Path(conv.project_dir))
    if files is None:
        conv.warn(
            where, f"bind mount of {source} becomes a hostPath volume: it only works on nodes that have it"
        )
        name = f"host-{index}"
        storage.add(
            {"name": name, "hostPath": {"path": str(source)}}, _mount(name, mount.target, mount.read_only)
        )
        return
    if not mount.read_only:
        conv.warn(where, f"bind mount of {source} becomes a read-only ConfigMap volume at {mount.target}")
    name = dns_label(f"{service.name}-{index}-{source.name}")
    data, binary, items = {}, {}, []
    for path in files:
        key = _data_key(path.name) if source.is_dir() else "content"
        text = path.read_bytes()
        try:
            data[key] = text.decode()
        except UnicodeDecodeError:
            binary[key] = base64.b64encode(text).decode()
        item: dict[str, Any] = {"key": key, "path": path.name if source.is_dir() else source.name}
        if os.stat(path).st_mode & 0o111:
            item["mode"] = 0o755  # scripts stay executable, as the bind mount kept them
        items.append(item)
    config_map: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": object_labels(conv.project.name, service.name)},
    }
    if data:
        config_map["data"] = data
    if binary:
        config_map["binaryData"] = binary
    conv.add(config_map)
    volume = {"name": name, "configMap": {"name": name, "items": items}}
    if source.is_dir():
        storage.add(volume, _mount(name, mount.target, True))
    else:
        storage.add(volume, _mount(name, mount.target, True, source.name))


def _data_key(file_name: str) -> str:
    """A ConfigMap data key: letters, digits, `-`, `_` and `.` only."""
    return re.sub(r"[^-._a-zA-Z0-9]", "-", file_name)


def _project_files(source: Path, project_dir: Path) -> list[Path] | None:
    """The regular files a bind of `source` shows, when it is a file or a flat folder inside the project
    small enough for a ConfigMap; None otherwise."""
    try:
        source.resolve().relative_to(project_dir.resolve())
    except ValueError:
        return None
    if source.is_file():
        files = [source]
    elif source.is_dir():
        entries = sorted(source.iterdir())
        if any(not e.is_file() for e in entries):
            return None
        files = entries
    else:
        return None
    if sum(f.stat().st_size for f in files) > CONFIGMAP_LIMIT:
        return None
    return files


def _file_object(conv: Conversion, service: Service, ref: FileRef, kind: str, storage: PodStorage) -> None:
    """A secret (Secret) or config (ConfigMap) mounted where Compose puts it: /run/secrets/<name> or
    /<name> unless `target` says otherwise (a relative secret target is under /run/secrets)."""
    resources = conv.project.secrets if kind == "Secret" else conv.project.configs
    resource = resources.get(ref.source)
    where = f"service {service.name}"
    if resource is None:
        return  # the loader refuses undefined secrets/configs before we get here
    name = dns_label(resource.name)
    if not resource.external:
        conv.add(_file_content_object(conv, resource, kind, name))
    if ref.uid or ref.gid:
        conv.warn(where, f"uid/gid of {ref.source} have no Kubernetes equivalent (set the pod's fsGroup)")
    target = ref.target or ref.source
    if kind == "Secret" and not target.startswith("/"):
        target = f"/run/secrets/{target}"
    elif not target.startswith("/"):
        target = f"/{target}"
    item: dict[str, Any] = {"key": "content", "path": "content"}
    if ref.mode is not None:
        item["mode"] = int(str(ref.mode), 8) if isinstance(ref.mode, str) else int(ref.mode)
    volume_name = dns_label(f"{kind.lower()}-{resource.key}")
    source = {"secretName": name} if kind == "Secret" else {"name": name}
    volume = {
        "name": volume_name,
        ("secret" if kind == "Secret" else "configMap"): {**source, "items": [item]},
    }
    storage.add(volume, _mount(volume_name, target, True, "content"))


def _file_content_object(conv: Conversion, resource: Resource, kind: str, name: str) -> dict[str, Any]:
    from composer.filerefs import source_bytes

    content = source_bytes("secret" if kind == "Secret" else "config", resource, conv.environment)
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": kind,
        "metadata": {"name": name, "labels": object_labels(conv.project.name)},
    }
    if kind == "Secret":
        obj["type"] = "Opaque"
        obj["data"] = {"content": base64.b64encode(content).decode()}
    else:
        try:
            obj["data"] = {"content": content.decode()}
        except UnicodeDecodeError:
            obj["binaryData"] = {"content": base64.b64encode(content).decode()}
    return obj
