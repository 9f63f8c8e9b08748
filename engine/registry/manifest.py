"""Manifest and index media types, parsing, and choosing the platform to pull from an index."""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from typing import Any

from engine.errors import InvalidParameter, NotFound

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
# What we say we understand, most specific first (as the Accept header of a Docker pull).
ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST))

_GO_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "armv6l": "arm",
    "i386": "386",
    "i686": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


@dataclass(frozen=True)
class Platform:
    """An OCI platform: os, architecture, variant."""

    os: str = "linux"
    architecture: str = "amd64"
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    @classmethod
    def parse(cls, text: str) -> Platform:
        """`linux/arm64/v8`, `linux/amd64` or `arm64` -> Platform."""
        parts = text.strip().lower().split("/")
        if len(parts) == 1:
            parts = ["linux", *parts]
        if len(parts) > 3 or not all(parts):
            raise InvalidParameter(f"invalid platform {text!r}: expected os/arch[/variant]")
        arch = _GO_ARCH.get(parts[1], parts[1])
        variant = parts[2] if len(parts) == 3 else ""
        return cls(parts[0], arch, _normal_variant(arch, variant))


def _normal_variant(arch: str, variant: str) -> str:
    # containerd's normalization: arm64 defaults to v8, arm to v7.
    if arch == "arm64" and variant in ("", "8", "v8"):
        return "v8"
    if arch == "arm" and variant in ("", "7"):
        return "v7"
    return variant


def host_platform() -> Platform:
    machine = platform.machine().lower()
    arch = _GO_ARCH.get(machine, machine)
    variant = "v6" if machine == "armv6l" else ""
    return Platform("linux", arch, _normal_variant(arch, variant))


@dataclass(frozen=True)
class Descriptor:
    """An OCI content descriptor: media type, digest, size, platform."""

    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    urls: tuple[str, ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Descriptor:
        try:
            plat = data.get("platform")
            return cls(
                media_type=str(data.get("mediaType", "")),
                digest=str(data["digest"]),
                size=int(data["size"]),
                platform=Platform(
                    str(plat.get("os", "")),
                    str(plat.get("architecture", "")),
                    _normal_variant(str(plat.get("architecture", "")), str(plat.get("variant", ""))),
                )
                if isinstance(plat, dict)
                else None,
                urls=tuple(data.get("urls") or ()),
                annotations=tuple(sorted((data.get("annotations") or {}).items())),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidParameter(f"invalid descriptor in manifest: {exc}") from None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out


@dataclass(frozen=True)
class Manifest:
    """An image manifest (OCI or Docker schema2): one config and its layers, bottom first."""

    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    raw: bytes


@dataclass(frozen=True)
class Index:
    """An OCI image index (or Docker manifest list) and its manifests."""

    media_type: str
    manifests: tuple[Descriptor, ...]
    raw: bytes


def parse_manifest(raw: bytes, content_type: str = "") -> Manifest | Index:
    """Decode a manifest body; the media type comes from the body, else the Content-Type header."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise InvalidParameter(f"invalid manifest: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InvalidParameter("invalid manifest: not a JSON object")
    media_type = str(data.get("mediaType") or content_type.split(";")[0].strip())
    if not media_type:
        # OCI allows the field to be absent; its shape tells which one it is.
        media_type = OCI_INDEX if "manifests" in data else OCI_MANIFEST
    if data.get("schemaVersion") == 1 or media_type.startswith(
        "application/vnd.docker.distribution.manifest.v1"
    ):
        raise InvalidParameter(
            "manifest schema 1 is not supported; push the image again with a current client"
        )
    if media_type in INDEX_TYPES:
        return Index(media_type, tuple(Descriptor.from_json(d) for d in data.get("manifests") or ()), raw)
    if media_type in MANIFEST_TYPES:
        if "config" not in data:
            raise InvalidParameter("invalid manifest: no config")
        return Manifest(
            media_type,
            Descriptor.from_json(data["config"]),
            tuple(Descriptor.from_json(d) for d in data.get("layers") or ()),
            raw,
        )
    raise InvalidParameter(f"unsupported manifest media type {media_type!r}")


def select_platform(index: Index, want: Platform) -> Descriptor:
    """The index entry for `want`; an exact variant wins, then an entry without variant, then any variant.

    Attestation manifests (BuildKit's unknown/unknown) are never chosen.
    """
    best: tuple[int, Descriptor] | None = None
    for desc in index.manifests:
        p = desc.platform
        if p is None or p.os != want.os or p.architecture != want.architecture:
            continue
        if desc.media_type and desc.media_type not in MANIFEST_TYPES:
            continue
        rank = 0 if p.variant == want.variant else 1 if not p.variant else 2
        if not want.variant and p.variant:
            rank = 1
        if best is None or rank < best[0]:
            best = (rank, desc)
    if best is None:
        available = ", ".join(str(d.platform) for d in index.manifests if d.platform) or "none"
        raise NotFound(
            f"no matching manifest for {want} in the manifest list entries (available: {available})"
        )
    return best[1]


def build_manifest(media_type: str, config: Descriptor, layers: list[Descriptor]) -> bytes:
    """Serialize an image manifest for push (OCI or Docker schema2, same shape)."""
    doc = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": config.to_json(),
        "layers": [layer.to_json() for layer in layers],
    }
    return json.dumps(doc, indent=3).encode()
