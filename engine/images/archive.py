"""`docker save` / `docker load` archives.

save writes what docker 25+ writes: an OCI image layout (oci-layout, index.json, blobs/sha256/...) that is
also a docker-archive (manifest.json, repositories), layers as uncompressed tars named by their diff_id.
load reads that, the older docker-archive layout (`<id>/layer.tar`, `<hex>.json`), and plain OCI layouts;
the input may be gzip/zstd/xz compressed.
"""

from __future__ import annotations

import json
import logging
import posixpath
import secrets
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from engine.errors import InvalidParameter
from engine.images import compression, reference
from engine.images.digest import CHUNK, check_digest, sha256_bytes
from engine.images.importer import host_architecture
from engine.images.tarstream import Sink, add_bytes, add_dir, add_stream, open_writer

if TYPE_CHECKING:
    from engine.images.store import Image, ImageStore

log = logging.getLogger(__name__)

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"
MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
ANN_IMAGE_NAME = "io.containerd.image.name"
ANN_REF_NAME = "org.opencontainers.image.ref.name"


@dataclass(frozen=True)
class _Saved:
    """An image of a `docker save` archive, with the tags it is saved under."""

    image: Image
    tags: tuple[reference.Reference, ...]


def _select(store: ImageStore, refs: list[str]) -> list[_Saved]:
    """Images to save with the names each brings: `repo` alone means every tag of that repository."""
    chosen: dict[str, list[reference.Reference]] = {}
    for ref in refs:
        try:
            parsed = reference.parse(ref)
        except InvalidParameter:
            parsed = None
        if parsed is not None and parsed.tag is None and parsed.digest is None:
            matches = [(img, r) for img in store.list() for r in store.refs(img.id)
                       if r.name == parsed.name and r.digest is None]
            if matches:
                for img, r in matches:
                    chosen.setdefault(img.id, []).append(r)
                continue
        image_id, named = store.resolve(ref)
        tags = chosen.setdefault(image_id, [])
        if named is not None and named.digest is None:
            tags.append(named)
    return [_Saved(store.get(i), tuple(dict.fromkeys(t))) for i, t in chosen.items()]


def save(store: ImageStore, refs: list[str]) -> Iterator[bytes]:
    """Check every name first (NotFound before any byte is sent), then stream the archive."""
    if not refs:
        raise InvalidParameter("no images specified")
    saved = _select(store, refs)
    for item in saved:
        for diff_id in item.image.diff_ids:
            store.layers.get(diff_id)
    return _stream(store, saved)


def _stream(store: ImageStore, saved: list[_Saved]) -> Iterator[bytes]:
    sink = Sink()
    written: set[str] = set()
    index_entries: list[dict[str, Any]] = []
    docker_manifest: list[dict[str, Any]] = []
    repositories: dict[str, dict[str, str]] = {}
    with open_writer(sink) as tar:
        yield add_dir(tar, sink, "blobs/")
        yield add_dir(tar, sink, "blobs/sha256/")
        for item in saved:
            image = item.image
            layer_descs = []
            for diff_id in image.diff_ids:
                layer = store.layers.get(diff_id)
                size = layer.tar_size or _measure(store, diff_id)
                layer_descs.append({"mediaType": MT_LAYER, "digest": diff_id, "size": size})
                if diff_id in written:
                    continue
                written.add(diff_id)
                info = tarfile.TarInfo(f"blobs/sha256/{check_digest(diff_id)}")
                info.size, info.mode = size, 0o644
                with store.layers.open_tar(diff_id) as src:
                    yield from add_stream(tar, sink, info, src)
            config_bytes = store.blobs.read(image.id)
            manifest = _compact({
                "schemaVersion": 2, "mediaType": MT_MANIFEST,
                "config": {"mediaType": MT_CONFIG, "digest": image.id, "size": len(config_bytes)},
                "layers": layer_descs,
            })
            manifest_digest = sha256_bytes(manifest)
            for digest, data in ((image.id, config_bytes), (manifest_digest, manifest)):
                if digest not in written:
                    written.add(digest)
                    yield add_bytes(tar, sink, f"blobs/sha256/{check_digest(digest)}", data)
            desc = {"mediaType": MT_MANIFEST, "digest": manifest_digest, "size": len(manifest)}
            for tag in item.tags or (None,):
                if tag is None:
                    index_entries.append(desc)
                    continue
                names = {ANN_IMAGE_NAME: str(tag), ANN_REF_NAME: tag.tag}
                index_entries.append({**desc, "annotations": names})
                if image.diff_ids:
                    top = check_digest(image.diff_ids[-1])
                    repositories.setdefault(tag.familiar_name(), {})[tag.tag or "latest"] = top
            docker_manifest.append({
                "Config": f"blobs/sha256/{check_digest(image.id)}",
                "RepoTags": [t.familiar() for t in item.tags] or None,
                "Layers": [f"blobs/sha256/{check_digest(d)}" for d in image.diff_ids],
            })
        index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": index_entries}
        yield add_bytes(tar, sink, "index.json", _compact(index))
        yield add_bytes(tar, sink, "manifest.json", _compact(docker_manifest))
        yield add_bytes(tar, sink, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        if repositories:
            yield add_bytes(tar, sink, "repositories", _compact(repositories))
    yield sink.take()


def _compact(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _measure(store: ImageStore, diff_id: str) -> int:
    total = 0
    with store.layers.open_tar(diff_id) as src:
        while chunk := src.read(CHUNK):
            total += len(chunk)
    return total


# -- load ------------------------------------------------------------------------------------------------

class _Archive:
    """Random access to the members of a spooled archive, following symlinks between members."""

    def __init__(self, tar: tarfile.TarFile) -> None:
        self.tar = tar
        self.members = {posixpath.normpath(m.name.lstrip("/")): m for m in tar.getmembers()}

    def member(self, name: str) -> tarfile.TarInfo:
        key = posixpath.normpath(name.lstrip("/"))
        for _ in range(16):
            found = self.members.get(key)
            if found is None:
                raise InvalidParameter(f"invalid archive: {name} is missing")
            if found.issym():
                key = posixpath.normpath(posixpath.join(posixpath.dirname(key), found.linkname))
            elif found.islnk():
                key = posixpath.normpath(found.linkname)
            else:
                return found
        raise InvalidParameter(f"invalid archive: {name} is a symlink loop")

    def has(self, name: str) -> bool:
        return posixpath.normpath(name) in self.members

    def open(self, name: str) -> BinaryIO:
        f = self.tar.extractfile(self.member(name))
        if f is None:
            raise InvalidParameter(f"invalid archive: {name} is not a file")
        return f  # type: ignore[return-value]

    def read(self, name: str) -> bytes:
        with self.open(name) as f:
            return f.read()

    def json(self, name: str) -> Any:
        try:
            return json.loads(self.read(name))
        except ValueError:
            raise InvalidParameter(f"invalid archive: {name} is not JSON") from None


def load(store: ImageStore, tar_stream: BinaryIO) -> list[str]:
    spool = store.root / "ingest" / f"load-{secrets.token_hex(8)}.tar"
    try:
        with open(spool, "wb") as out:
            src = compression.open_uncompressed(tar_stream)
            while chunk := src.read(CHUNK):
                out.write(chunk)
        try:
            tar = tarfile.open(spool, mode="r:")  # noqa: SIM115 - closed by the with below
        except tarfile.TarError as exc:
            raise InvalidParameter(f"invalid archive: {exc}") from None
        with tar:
            archive = _Archive(tar)
            if archive.has("manifest.json"):
                return _load_docker(store, archive)
            if archive.has("index.json"):
                return _load_oci(store, archive)
            raise InvalidParameter("invalid archive: no manifest.json or index.json")
    finally:
        spool.unlink(missing_ok=True)


def _create(store: ImageStore, archive: _Archive, config_bytes: bytes, layer_paths: list[str],
            tags: list[str]) -> list[str]:
    try:
        config = json.loads(config_bytes)
        diff_ids = list(config["rootfs"]["diff_ids"])
    except (ValueError, KeyError, TypeError):
        raise InvalidParameter("invalid archive: image config without rootfs.diff_ids") from None
    if len(diff_ids) != len(layer_paths):
        raise InvalidParameter("invalid archive: layer count does not match the image config")
    for diff_id, path in zip(diff_ids, layer_paths, strict=True):
        with archive.open(path) as f:
            store.layers.add(f, expected_diff_id=diff_id)
    image = store.create_image(config_bytes, tags)
    log.info("image loaded id=%s tags=%s", image.id, ",".join(tags))
    if tags:
        return [f"Loaded image: {reference.familiar(t)}" for t in tags]
    return [f"Loaded image ID: {image.id}"]


def _load_docker(store: ImageStore, archive: _Archive) -> list[str]:
    manifest = archive.json("manifest.json")
    if not isinstance(manifest, list):
        raise InvalidParameter("invalid archive: manifest.json is not a list")
    lines: list[str] = []
    for entry in manifest:
        config_path = entry.get("Config")
        if not isinstance(config_path, str):
            raise InvalidParameter("invalid archive: manifest entry without Config")
        tags = [t for t in entry.get("RepoTags") or [] if isinstance(t, str)]
        for tag in tags:
            reference.parse_tagged(tag)
        lines += _create(store, archive, archive.read(config_path), list(entry.get("Layers") or []), tags)
    return lines


def _blob_name(digest: str) -> str:
    if not digest.startswith("sha256:"):
        raise InvalidParameter(f"unsupported digest algorithm in archive: {digest}")
    return f"blobs/sha256/{check_digest(digest)}"


def _platform_ok(desc: dict[str, Any]) -> bool:
    plat = desc.get("platform") or {}
    arch = host_architecture()
    return bool(plat.get("os", "linux") == "linux" and plat.get("architecture", arch) == arch)


def _manifests(archive: _Archive, descs: list[dict[str, Any]], depth: int = 0) -> Iterator[tuple[dict, dict]]:
    """(descriptor naming the image, manifest) pairs; a nested index yields its host-platform manifest."""
    for desc in descs:
        data = archive.read(_blob_name(desc["digest"]))
        if sha256_bytes(data) != desc["digest"]:
            raise InvalidParameter(f"invalid archive: blob {desc['digest']} does not match its digest")
        doc = json.loads(data)
        if doc.get("mediaType", desc.get("mediaType")) in (MT_INDEX, MT_DOCKER_LIST) or "manifests" in doc:
            if depth > 4:
                raise InvalidParameter("invalid archive: index nesting too deep")
            children = [d for d in doc.get("manifests", []) if _platform_ok(d)]
            if not children:
                raise InvalidParameter("invalid archive: no manifest for this platform")
            for _, manifest in _manifests(archive, children[:1], depth + 1):
                yield desc, manifest
        else:
            yield desc, doc


def _load_oci(store: ImageStore, archive: _Archive) -> list[str]:
    index = archive.json("index.json")
    lines: list[str] = []
    for desc, manifest in _manifests(archive, list(index.get("manifests") or [])):
        annotations = desc.get("annotations") or {}
        name = annotations.get(ANN_IMAGE_NAME) or annotations.get(ANN_REF_NAME) or ""
        tags: list[str] = []
        if name:
            try:
                reference.parse(name)
                tags = [name]
            except InvalidParameter:
                tags = []  # a bare tag ("latest") names no repository: the image loads untagged
        config_bytes = archive.read(_blob_name(manifest["config"]["digest"]))
        if sha256_bytes(config_bytes) != manifest["config"]["digest"]:
            raise InvalidParameter("invalid archive: config does not match its digest")
        layers = [_blob_name(layer["digest"]) for layer in manifest.get("layers", [])]
        lines += _create(store, archive, config_bytes, layers, tags)
    return lines
