"""The project as an OCI artifact, as `docker compose publish` makes it: one layer per Compose file
(`application/vnd.docker.compose.file+yaml`, annotated with its file name), the files it `extends`
(named by the hash of their path), the env files with --with-env (`application/vnd.docker.compose.envfile`,
named by the hash of their path, the Compose files pointing at those names), an optional image-digests
override; an image manifest with artifactType `application/vnd.docker.compose.project` and the empty
config (OCI 1.1), or the Compose empty-config media type without artifactType (OCI 1.0).

Pure: files in, descriptors and manifest bytes out; composer.oci_push sends them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from composer.errors import ComposerError
from composer.labels import COMPOSE_VERSION

ARTIFACT_TYPE = "application/vnd.docker.compose.project"
FILE_MEDIA_TYPE = "application/vnd.docker.compose.file+yaml"
ENVFILE_MEDIA_TYPE = "application/vnd.docker.compose.envfile"
EMPTY_CONFIG_MEDIA_TYPE = "application/vnd.docker.compose.config.empty.v1+json"  # OCI 1.0 pushes
OCI_EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
OCI_VERSIONS = ("1.0", "1.1")


@dataclass(frozen=True)
class Blob:
    media_type: str
    data: bytes
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()

    def descriptor(self) -> dict[str, Any]:
        """The descriptor as Compose writes it (Go's field order; the content inline as `data`)."""
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data)}
        if self.annotations:
            out["annotations"] = dict(sorted(self.annotations.items()))
        out["data"] = base64.b64encode(self.data).decode()
        return out


def path_hash(path: str, suffix: str) -> str:
    return hashlib.sha256(path.encode()).hexdigest() + suffix


def compose_file_layer(name: str, data: bytes, *, extends: bool = False) -> Blob:
    annotations = {
        "com.docker.compose.file": os.path.basename(name),
        "com.docker.compose.version": COMPOSE_VERSION,
    }
    if extends:
        annotations["com.docker.compose.extends"] = "true"
    return Blob(FILE_MEDIA_TYPE, data, annotations)


def env_file_layer(name: str, data: bytes) -> Blob:
    return Blob(
        ENVFILE_MEDIA_TYPE,
        data,
        {"com.docker.compose.envfile": name, "com.docker.compose.version": COMPOSE_VERSION},
    )


@dataclass
class Layers:
    """The artifact's layers, built from the project's Compose files."""

    files: list[Blob] = field(default_factory=list)
    extends: list[Blob] = field(default_factory=list)
    env_files: dict[str, str] = field(default_factory=dict)  # absolute path -> hashed name

    def all(self, *, with_env: bool, read: Callable[[str], bytes]) -> list[Blob]:
        envs = [env_file_layer(name, read(path)) for path, name in self.env_files.items()] if with_env else []
        return [*self.files, *self.extends, *envs]


def build_layers(config_files: list[str], working_dir: str, read: Callable[[str], bytes]) -> Layers:
    """Each Compose file with its env_file and extends.file values renamed to the hashed names, the
    extended files as layers of their own (recursively)."""
    layers = Layers()
    seen: dict[str, str] = {}
    pending: list[str] = []
    for path in config_files:
        data = _rename_references(path, read(path), working_dir, layers.env_files, seen, pending)
        layers.files.append(compose_file_layer(path, data))
    while pending:
        path = pending.pop(0)
        data = _rename_references(path, read(path), os.path.dirname(path), {}, seen, pending)
        layers.extends.append(compose_file_layer(seen[path], data, extends=True))
    return layers


def _rename_references(
    path: str,
    data: bytes,
    working_dir: str,
    env_files: dict[str, str],
    extended: dict[str, str],
    pending: list[str],
) -> bytes:
    """The file's text with each service's env_file paths and local extends.file replaced by hashed
    names (spliced at the YAML scalars' positions, so the rest of the file stays byte for byte)."""
    import yaml

    text = data.decode()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ComposerError(f"{path}: {exc}") from None
    edits: list[tuple[int, int, str]] = []
    for service in _mapping_values(_child(root, "services")):
        for scalar in _env_file_scalars(_child(service, "env_file")):
            absolute = os.path.normpath(os.path.join(working_dir, scalar.value))
            name = env_files.setdefault(absolute, path_hash(absolute, ".env"))
            edits.append((scalar.start_mark.index, scalar.end_mark.index, name))
        file_node = _child(_child(service, "extends"), "file")
        if isinstance(file_node, yaml.ScalarNode) and file_node.value:
            absolute = os.path.normpath(os.path.join(os.path.dirname(path), file_node.value))
            if not os.path.exists(absolute):
                continue  # not a local file: a remote resource the loader fetched
            if absolute not in extended:
                extended[absolute] = path_hash(absolute, ".yaml")
                pending.append(absolute)
            edits.append((file_node.start_mark.index, file_node.end_mark.index, extended[absolute]))
    for start, end, value in sorted(edits, reverse=True):
        text = text[:start] + value + text[end:]
    return text.encode()


def _child(node: Any, key: str) -> Any:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if getattr(k, "value", None) == key), None)


def _mapping_values(node: Any) -> list[Any]:
    import yaml

    return [v for _, v in node.value] if isinstance(node, yaml.MappingNode) else []


def _env_file_scalars(node: Any) -> list[Any]:
    """env_file's path scalars: a string, a list of strings, or a list of {path: ...}."""
    import yaml

    if isinstance(node, yaml.ScalarNode):
        return [node]
    if not isinstance(node, yaml.SequenceNode):
        return []
    out = []
    for item in node.value:
        if isinstance(item, yaml.ScalarNode):
            out.append(item)
        elif isinstance(item, yaml.MappingNode) and isinstance(_child(item, "path"), yaml.ScalarNode):
            out.append(_child(item, "path"))
    return out


def manifest(layers: list[Blob], oci_version: str, created: float | None = None) -> tuple[Blob, bytes]:
    """(the config blob, the image manifest's bytes) for OCI 1.1 (artifactType) or 1.0 (config type)."""
    if oci_version == "1.1":
        config = Blob(OCI_EMPTY_MEDIA_TYPE, b"{}")
    elif oci_version == "1.0":
        config = Blob(EMPTY_CONFIG_MEDIA_TYPE, b"{}")
    else:
        raise ComposerError(f"unsupported OCI version: {oci_version}")
    body: dict[str, Any] = {"schemaVersion": 2, "mediaType": MANIFEST_MEDIA_TYPE}
    if oci_version == "1.1":
        body["artifactType"] = ARTIFACT_TYPE
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if created is None else created))
    body.update(
        {
            "config": config.descriptor(),
            "layers": [layer.descriptor() for layer in layers],
            "annotations": {"org.opencontainers.image.created": stamp},
        }
    )
    return config, json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def image_digests_layer(images: dict[str, str]) -> Blob:
    """The override pinning each service's image to its digest (--resolve-image-digests)."""
    text = "services:\n" + "".join(f"  {name}:\n    image: {ref}\n" for name, ref in sorted(images.items()))
    return compose_file_layer("image-digests.yaml", text.encode())
