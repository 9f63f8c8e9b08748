"""Push one image: layers (skip if present, cross-repo mount, monolithic/chunked upload), config, manifest."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin

from engine.errors import NotFound, SystemError_, Unavailable
from engine.registry import store as st
from engine.registry.manifest import (
    DOCKER_CONFIG,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    Descriptor,
    Index,
    Manifest,
    Platform,
    build_manifest,
    parse_manifest,
    select_platform,
)
from engine.registry.progress import Progress, short_id
from engine.registry.reference import Reference, parse
from engine.registry.transport import NETWORK_ERRORS, Session, registry_error

log = logging.getLogger(__name__)
READ = 256 * 1024


@dataclass(frozen=True)
class PushLayer:
    """A layer to push: its descriptor, where its bytes are, a blob to mount from."""

    diff_id: str
    desc: Descriptor | None = None  # None: compressed (gzip) by the upload worker, then described
    source: Path | None = None  # the exact bytes to upload when they already exist (a store blob)
    mount_from: str | None = None  # another repository on the same registry that has this blob


@dataclass
class PushPlan:
    """What a push sends: config, layers and manifest."""

    media_type: str
    config: Descriptor
    config_raw: bytes
    layers: list[PushLayer]
    manifest_raw: bytes | None = None  # reused verbatim when the store kept the pulled manifest
    staging: tempfile.TemporaryDirectory[str] | None = None
    mount_sources: list[str] = field(default_factory=list)

    def cleanup(self) -> None:
        if self.staging is not None:
            self.staging.cleanup()


class Pusher:
    def __init__(
        self,
        store: st.BlobStore,
        progress: Progress,
        *,
        concurrency: int = 5,
        staging_dir: Path | None = None,
        chunk_size: int | None = None,
        max_retries: int = 5,
    ) -> None:
        self.max_retries = max_retries
        self.store = store
        self.progress = progress
        self.concurrency = max(1, concurrency)
        self.staging_dir = staging_dir
        self.chunk_size = chunk_size

    # -- planning (local only) -------------------------------------------------------------------------
    def plan(self, image: Any, ref: Reference) -> PushPlan:
        for diff_id in image.config.get("rootfs", {}).get("diff_ids", []):
            self.progress.layer("Preparing", short_id(diff_id))
        config_path = self.store.blob_path(image.id)
        if not config_path.is_file():
            raise NotFound(f"image config blob {image.id} is missing from the store")
        config_raw = config_path.read_bytes()
        reused = self._reusable_manifest(image, ref, config_raw)
        if reused is not None:
            return reused
        return self._fresh_plan(image, config_raw)

    def _reusable_manifest(self, image: Any, ref: Reference, config_raw: bytes) -> PushPlan | None:
        """The manifest the image was pulled with, if its layer blobs are all still in the store."""
        cfg = json.loads(config_raw)
        want = Platform(cfg.get("os", "linux"), cfg.get("architecture", "amd64"), cfg.get("variant", ""))
        diff_ids = list(cfg.get("rootfs", {}).get("diff_ids", []))
        for repo_digest in getattr(image, "repo_digests", ()):
            name, _, digest = repo_digest.partition("@")
            if not st.has_blob(self.store, digest):
                continue
            doc = parse_manifest(self.store.blob_path(digest).read_bytes())
            if isinstance(doc, Index):
                try:
                    inner = select_platform(doc, want)
                except NotFound:
                    continue
                if not st.has_blob(self.store, inner.digest):
                    continue
                doc = parse_manifest(self.store.blob_path(inner.digest).read_bytes())
            if (
                not isinstance(doc, Manifest)
                or doc.config.digest != image.id
                or len(doc.layers) != len(diff_ids)
            ):
                continue
            if not all(st.has_blob(self.store, layer.digest) for layer in doc.layers):
                continue
            source_ref = parse(name, default_tag=False)
            mount_from = (
                source_ref.path if source_ref.domain == ref.domain and source_ref.path != ref.path else None
            )
            layers = [
                PushLayer(d, layer, self.store.blob_path(layer.digest), mount_from)
                for d, layer in zip(diff_ids, doc.layers, strict=True)
            ]
            return PushPlan(
                doc.media_type,
                doc.config,
                config_raw,
                layers,
                manifest_raw=doc.raw,
                mount_sources=[mount_from] if mount_from else [],
            )
        return None

    def _fresh_plan(self, image: Any, config_raw: bytes) -> PushPlan:
        """Layers to be compressed (gzip, as docker push does) by the upload workers, into a staging dir."""
        cfg = json.loads(config_raw)
        layers = [PushLayer(diff_id) for diff_id in cfg.get("rootfs", {}).get("diff_ids", [])]
        staging = tempfile.TemporaryDirectory(prefix="push-", dir=self.staging_dir)
        config_desc = Descriptor(DOCKER_CONFIG, image.id, len(config_raw))
        return PushPlan(DOCKER_MANIFEST, config_desc, config_raw, layers, staging=staging)

    def _compress_layer(self, diff_id: str, dest: Path) -> Descriptor:
        h = hashlib.sha256()
        # mtime=0 keeps the compressed digest stable: pushing the same layer twice uploads nothing new.
        with (
            st.layer_tar(self.store, diff_id) as src,
            open(dest, "wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=6) as gz,
        ):
            shutil.copyfileobj(src, gz, READ)
        with open(dest, "rb") as f:
            while chunk := f.read(READ):
                h.update(chunk)
        return Descriptor(DOCKER_LAYER_GZIP, "sha256:" + h.hexdigest(), dest.stat().st_size)

    # -- pushing ----------------------------------------------------------------------------------------
    def push(self, session: Session, ref: Reference, plan: PushPlan) -> str:
        try:
            with ThreadPoolExecutor(self.concurrency, thread_name_prefix="push") as pool:
                for i, layer in enumerate(plan.layers):
                    if i >= self.concurrency:
                        self.progress.layer("Waiting", short_id(layer.diff_id))
                results = [pool.submit(self._push_layer, session, layer, plan) for layer in plan.layers]
                descs = [fut.result() for fut in results]
            self._push_config(session, plan)
            return self._push_manifest(session, ref, plan, descs)
        finally:
            plan.cleanup()

    def _push_layer(self, session: Session, layer: PushLayer, plan: PushPlan) -> Descriptor:
        ident = short_id(layer.diff_id)
        desc, source = layer.desc, layer.source
        if desc is None or source is None:
            if plan.staging is None:
                raise SystemError_(f"no staging directory to compress layer {layer.diff_id} in")
            source = Path(plan.staging.name) / layer.diff_id.replace(":", "-")
            desc = self._compress_layer(layer.diff_id, source)
        if blob_exists(session, desc.digest):
            self.progress.layer("Layer already exists", ident)
            return desc
        if layer.mount_from and mount_blob(session, desc.digest, layer.mount_from):
            self.progress.layer(f"Mounted from {layer.mount_from}", ident)
            return desc
        self._upload(
            session,
            desc.digest,
            source,
            desc.size,
            lambda cur, tot: self.progress.bytes("Pushing", ident, cur, tot),
        )
        self.progress.layer("Pushed", ident)
        return desc

    def _push_config(self, session: Session, plan: PushPlan) -> None:
        if blob_exists(session, plan.config.digest):
            return
        with tempfile.TemporaryDirectory(prefix="config-", dir=self.staging_dir) as tmp:
            path = Path(tmp) / "config.json"
            path.write_bytes(plan.config_raw)
            self._upload(session, plan.config.digest, path, len(plan.config_raw), None)

    def _upload(self, session: Session, digest: str, source: Path, size: int, progress: Any) -> None:
        """upload_blob, started afresh after a broken connection, a bounded number of times."""
        failures = 0
        while True:
            try:
                upload_blob(session, digest, source, size, self.chunk_size, progress)
                return
            except NETWORK_ERRORS as exc:
                failures += 1
                if failures > self.max_retries:
                    raise Unavailable(
                        f"uploading blob {digest}: giving up after {self.max_retries} retries: {exc}"
                    ) from None
                log.warning(
                    "blob upload interrupted, retrying digest=%s attempt=%d error=%s", digest, failures, exc
                )
                time.sleep(min(0.2 * 2 ** (failures - 1), 2.0))

    def _push_manifest(
        self, session: Session, ref: Reference, plan: PushPlan, layers: list[Descriptor]
    ) -> str:
        raw = plan.manifest_raw
        if raw is None:
            raw = build_manifest(plan.media_type, plan.config, layers)
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        tag = ref.tag or "latest"
        resp = session.request(
            "PUT", f"{session.path}/manifests/{tag}", {"Content-Type": plan.media_type}, raw
        )
        if resp.status not in (200, 201, 202):
            raise registry_error(resp, f"pushing manifest for {ref.familiar()}")
        answered = resp.header("Docker-Content-Digest")
        resp.body()
        if answered and answered != digest:
            raise SystemError_(f"registry stored manifest as {answered}, expected {digest}")
        self.progress.status(f"{tag}: digest: {digest} size: {len(raw)}")
        self.progress.aux({"Tag": tag, "Digest": digest, "Size": len(raw)})
        st.add_repo_digest(self.store, ref.familiar_name(), digest, plan.config.digest)
        log.info("pushed ref=%s digest=%s", ref, digest)
        return digest


def blob_exists(session: Session, digest: str) -> bool:
    resp = session.request("HEAD", f"{session.path}/blobs/{digest}")
    resp.body()
    if resp.status == 200:
        return True
    if resp.status == 404:
        return False
    raise registry_error(resp, f"checking blob {digest}")


def mount_blob(session: Session, digest: str, source: str) -> bool:
    """POST ?mount=&from=: 201 means mounted; 202 means the registry opened an upload instead (cancelled)."""
    query = urlencode({"mount": digest, "from": source})
    resp = session.request("POST", f"{session.path}/blobs/uploads/?{query}", {"Content-Length": "0"}, b"")
    location = resp.header("Location")
    status = resp.status
    resp.body()
    if status == 201:
        return True
    if status == 202 and location:
        cancel = session.request("DELETE", urljoin(session.url(""), location))
        cancel.body()
    return False


def _start_upload(session: Session) -> str:
    resp = session.request("POST", f"{session.path}/blobs/uploads/", {"Content-Length": "0"}, b"")
    location = resp.header("Location")
    if resp.status != 202 or not location:
        raise registry_error(resp, "starting blob upload")
    resp.body()
    return urljoin(session.url(""), location)


def _with_query(url: str, **params: str) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


def _file_chunks(path: Path, start: int, length: int, progress: Any, total: int) -> Iterator[bytes]:
    with open(path, "rb") as f:
        f.seek(start)
        left = length
        while left > 0:
            chunk = f.read(min(READ, left))
            if not chunk:
                raise SystemError_(f"{path} shrank while it was being uploaded")
            left -= len(chunk)
            yield chunk
            if progress:
                progress(start + length - left, total)


def upload_blob(
    session: Session, digest: str, source: Path, size: int, chunk_size: int | None, progress: Any
) -> None:
    """Upload `source` as blob `digest`: one PUT, or PATCH chunks of `chunk_size` then a closing PUT."""
    session.authenticate_upfront()  # streamed bodies cannot be replayed after a 401
    location = _start_upload(session)
    if chunk_size is None or size <= chunk_size:
        resp = session.request(
            "PUT",
            _with_query(location, digest=digest),
            {"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            _file_chunks(source, 0, size, progress, size),
        )
    else:
        offset = 0
        while offset < size:
            length = min(chunk_size, size - offset)
            resp = session.request(
                "PATCH",
                location,
                {
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(length),
                    "Content-Range": f"{offset}-{offset + length - 1}",
                },
                _file_chunks(source, offset, length, progress, size),
            )
            if resp.status != 202:
                raise registry_error(resp, f"uploading chunk of {digest} at {offset}")
            location = urljoin(location, resp.header("Location") or location)
            resp.body()
            offset += length
        resp = session.request("PUT", _with_query(location, digest=digest), {"Content-Length": "0"}, b"")
    if resp.status not in (201, 204):
        raise registry_error(resp, f"uploading blob {digest}")
    resp.body()
