"""Pull one image: manifest (index -> platform), config, parallel layers, each verified before storing."""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import InvalidParameter
from engine.registry import store as st
from engine.registry.blobs import fetch_blob, iter_blob, verify_bytes
from engine.registry.download import VerifiedDownload
from engine.registry.errors import Cancelled, DigestMismatch
from engine.registry.manifest import (
    ACCEPT,
    Descriptor,
    Index,
    Manifest,
    Platform,
    parse_manifest,
    select_platform,
)
from engine.registry.progress import MIN_INTERVAL, Progress, short_id
from engine.registry.reference import Reference, manifest_ref
from engine.registry.transport import Session, registry_error

log = logging.getLogger(__name__)

MAX_MANIFEST = 4 * 1024 * 1024
MAX_CONFIG = 8 * 1024 * 1024


@dataclass(frozen=True)
class ResolvedManifest:
    """A pulled reference resolved to one image manifest (through its index)."""

    digest: str  # what the reference names: the index digest for multi-platform images
    manifest: Manifest
    manifest_digest: str  # the platform-specific manifest
    index: Index | None


def fetch_manifest(session: Session, ref: str, display: str = "") -> tuple[bytes, str, str]:
    """GET a manifest by tag or digest -> (body, media type, digest), the body verified against the digest."""
    resp = session.request("GET", f"{session.path}/manifests/{ref}", {"Accept": ACCEPT})
    if resp.status != 200:
        name = display or f"{session.endpoint.host}/{session.path}{'@' if ':' in ref else ':'}{ref}"
        raise registry_error(resp, f"manifest for {name} not found" if resp.status == 404 else name)
    content_type = resp.header("Content-Type")
    header_digest = resp.header("Docker-Content-Digest")
    body = resp.read(MAX_MANIFEST + 1)
    resp.close()
    if len(body) > MAX_MANIFEST:
        raise InvalidParameter(f"manifest {ref} is larger than {MAX_MANIFEST} bytes")
    if ":" in ref:
        digest = ref
    elif header_digest.startswith(("sha256:", "sha512:")):
        digest = header_digest
    else:
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
    verify_bytes(body, digest)
    return body, content_type, digest


def resolve(session: Session, ref: Reference, want: Platform) -> ResolvedManifest:
    body, ctype, digest = fetch_manifest(session, manifest_ref(ref), ref.familiar())
    doc = parse_manifest(body, ctype)
    if isinstance(doc, Manifest):
        return ResolvedManifest(digest, doc, digest, None)
    chosen = select_platform(doc, want)
    body2, ctype2, digest2 = fetch_manifest(session, chosen.digest)
    inner = parse_manifest(body2, ctype2)
    if not isinstance(inner, Manifest):
        raise InvalidParameter(f"manifest {chosen.digest} for {want} is itself an index")
    return ResolvedManifest(digest, inner, digest2, doc)


def fetch_config(session: Session, desc: Descriptor) -> bytes:
    if desc.size > MAX_CONFIG:
        raise InvalidParameter(f"image config {desc.digest} is too large ({desc.size} bytes)")
    resp = session.request("GET", f"{session.path}/blobs/{desc.digest}")
    if resp.status != 200:
        raise registry_error(resp, f"image config {desc.digest}")
    body = resp.read(MAX_CONFIG + 1)
    resp.close()
    verify_bytes(body, desc.digest)
    return body


class Puller:
    """One pull into `store`: `concurrency` layers at a time, each downloaded, then unpacked by its worker."""

    def __init__(
        self,
        store: st.BlobStore,
        progress: Progress,
        *,
        concurrency: int = 3,
        max_retries: int = 5,
        staging_dir: Path | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.progress = progress
        self.concurrency = max(1, concurrency)
        self.max_retries = max_retries
        self.staging_dir = staging_dir
        self._store_lock = threading.Lock()
        # Set by the caller to give up, or by a failed layer so the other downloads stop early.
        self._abort = cancel or threading.Event()

    def pull(self, session: Session, ref: Reference, resolved: ResolvedManifest) -> Any:
        manifest = resolved.manifest
        config_raw = fetch_config(session, manifest.config)
        try:
            config: dict[str, Any] = json.loads(config_raw)
            diff_ids: list[str] = list(config["rootfs"]["diff_ids"])
        except (ValueError, KeyError, TypeError):
            raise InvalidParameter(
                f"image config {manifest.config.digest} is not a valid image config"
            ) from None
        if len(diff_ids) != len(manifest.layers):
            raise InvalidParameter(
                f"manifest has {len(manifest.layers)} layers but the config lists {len(diff_ids)} diff_ids"
            )
        for layer in manifest.layers:
            if not layer.digest.startswith(("sha256:", "sha512:")):
                raise InvalidParameter(f"layer digest {layer.digest!r} uses an unsupported algorithm")

        existing = st.find_image(self.store, manifest.config.digest)
        if existing is not None and all(st.has_layer(self.store, d) for d in diff_ids):
            self._finish(config_raw, manifest, resolved, ref)
            self.progress.status(f"Digest: {resolved.digest}")
            self.progress.status(f"Status: Image is up to date for {ref.familiar()}")
            return self.store.get(manifest.config.digest)

        self._pull_layers(session, manifest.layers, diff_ids)
        image = self._finish(config_raw, manifest, resolved, ref)
        self.progress.status(f"Digest: {resolved.digest}")
        self.progress.status(f"Status: Downloaded newer image for {ref.familiar()}")
        return image

    def _pull_layers(self, session: Session, layers: tuple[Descriptor, ...], diff_ids: list[str]) -> None:
        todo: list[tuple[Descriptor, str]] = []
        for desc, diff_id in zip(layers, diff_ids, strict=True):
            if st.has_layer(self.store, diff_id):
                self.progress.layer("Already exists", short_id(desc.digest))
            else:
                self.progress.layer("Pulling fs layer", short_id(desc.digest))
                todo.append((desc, diff_id))
        if not todo:
            return
        with (
            tempfile.TemporaryDirectory(prefix="pull-", dir=self.staging_dir) as tmp,
            ThreadPoolExecutor(self.concurrency, thread_name_prefix="pull") as pool,
        ):
            futures: list[Future[None]] = []
            for i, (desc, diff_id) in enumerate(todo):
                if i >= self.concurrency:
                    self.progress.layer("Waiting", short_id(desc.digest))
                futures.append(pool.submit(self._layer, session, desc, diff_id, Path(tmp)))
            try:
                # Each worker downloads and unpacks its own layer: in overlay form a layer's directory does
                # not depend on its parent's, so unpacks overlap with each other and with the downloads.
                # "Pull complete" is still reported bottom-up, the order Docker shows.
                for (desc, _), fut in zip(todo, futures, strict=True):
                    fut.result()
                    if self._abort.is_set():
                        raise Cancelled("pull cancelled")
                    self.progress.layer("Pull complete", short_id(desc.digest))
            except BaseException:
                self._abort.set()
                for fut in futures:
                    fut.cancel()
                raise

    def _layer(self, session: Session, desc: Descriptor, diff_id: str, staging: Path) -> None:
        ident = short_id(desc.digest)
        if st.has_blob(self.store, desc.digest):
            self.progress.layer("Download complete", ident)
            self._unpack_blob(desc, diff_id, new_blob=False)
            return
        writer = st.blob_writer(self.store) if desc.digest.startswith("sha256:") else None
        if writer is None:
            path = self._download(session, desc, staging / desc.digest.replace(":", "-"))
            self._register(desc, diff_id, path)
            return
        if callable(getattr(self.store, "add_layer_stream", None)):
            self._stream_layer(session, desc, diff_id, writer)
            return
        self._download_blob(session, desc, writer)
        self._unpack_blob(desc, diff_id, new_blob=True)

    def _stream_layer(self, session: Session, desc: Descriptor, diff_id: str, writer: st.BlobWriter) -> None:
        """Unpack while downloading: the tar reader pulls the bytes off the connection, the blob writer keeps
        them, and the layer is installed only after the blob verified (see engine.registry.download)."""
        ident = short_id(desc.digest)

        def verified() -> None:
            self.progress.layer("Verifying Checksum", ident)
            self.progress.layer("Download complete", ident)

        chunks = iter_blob(
            session, desc.digest, desc.size, max_retries=self.max_retries, progress=self._report(desc)
        )
        download = VerifiedDownload(chunks, writer, desc.digest, verified, self._check_cancel)
        try:
            got = self.store.add_layer_stream(download, desc.digest, expected_diff_id=diff_id)  # type: ignore[attr-defined]
            if got != diff_id:
                raise DigestMismatch(
                    f"layer {desc.digest} unpacks to {got}, but the config expects {diff_id}"
                )
        except (Cancelled, DigestMismatch):
            self._give_up(download, desc)
            raise
        except Exception:
            if not (download.done or download.failed or self._abort.is_set()):
                # A corrupt download usually breaks the gzip or tar reader before the digest is known: read
                # the rest so the user hears about the digest, not about a bad archive.
                try:
                    download.drain()
                except DigestMismatch:
                    self._give_up(download, desc)
                    raise
                except Exception as exc:  # noqa: BLE001 - the first error is the one reported
                    log.debug("draining a failed layer download digest=%s error=%s", desc.digest, exc)
            self._give_up(download, desc)
            raise
        except BaseException:
            self._give_up(download, desc)
            raise
        finally:
            chunks.close()
        if not download.done:
            download.abort()  # the layer was there already (another pull): nothing was downloaded
        self.progress.bytes("Extracting", ident, desc.size, desc.size)

    def _check_cancel(self) -> None:
        if self._abort.is_set():
            raise Cancelled("pull cancelled")

    def _give_up(self, download: VerifiedDownload, desc: Descriptor) -> None:
        self._drop(desc, download.done)  # a blob that verified but made no layer is not kept
        download.abort()

    def _report(self, desc: Descriptor) -> Callable[[int, int], None]:
        ident = short_id(desc.digest)

        def report(current: int, total: int) -> None:
            if self._abort.is_set():
                raise Cancelled(f"pull cancelled: download of {desc.digest} stopped")
            self.progress.bytes("Downloading", ident, current, total, MIN_INTERVAL)

        return report

    def _download_blob(self, session: Session, desc: Descriptor, writer: st.BlobWriter) -> None:
        """Stream the blob straight into the store's ingest area (hashed once, by the writer); it becomes a
        blob only when the digest matches, so a corrupt or cancelled download leaves nothing stored."""
        ident = short_id(desc.digest)
        try:
            for chunk in iter_blob(
                session, desc.digest, desc.size, max_retries=self.max_retries, progress=self._report(desc)
            ):
                writer.write(chunk)
            if self._abort.is_set():
                raise Cancelled(f"pull cancelled: download of {desc.digest} stopped")
            self.progress.layer("Verifying Checksum", ident)
            got = writer.digest
            if got != desc.digest:
                raise DigestMismatch(
                    f"filesystem layer verification failed for digest {desc.digest}: got {got}"
                )
            writer.commit(expected=desc.digest)
        except BaseException:
            writer.abort()
            raise
        self.progress.layer("Download complete", ident)

    def _unpack_blob(self, desc: Descriptor, diff_id: str, *, new_blob: bool) -> None:
        """Unpack a stored blob in place (the store keeps it as the layer's source: no second copy)."""
        ident = short_id(desc.digest)
        if self._abort.is_set():
            self._drop(desc, new_blob)
            raise Cancelled("pull cancelled")
        self.progress.bytes("Extracting", ident, 0, desc.size)
        try:
            got = st.add_layer_blob(self.store, desc.digest, diff_id)
            if got != diff_id:
                raise DigestMismatch(
                    f"layer {desc.digest} unpacks to {got}, but the config expects {diff_id}"
                )
        except BaseException:
            self._drop(desc, new_blob)  # a blob no layer was made from is not kept
            raise
        self.progress.bytes("Extracting", ident, desc.size, desc.size)

    def _drop(self, desc: Descriptor, new_blob: bool) -> None:
        if new_blob:
            st.delete_blob(self.store, desc.digest)

    def _download(self, session: Session, desc: Descriptor, dest: Path) -> Path:
        """Stores without their own ingest area: download to a staging file first."""
        ident = short_id(desc.digest)
        fetch_blob(
            session, desc.digest, desc.size, dest, max_retries=self.max_retries, progress=self._report(desc)
        )
        self.progress.layer("Verifying Checksum", ident)
        self.progress.layer("Download complete", ident)
        return dest

    def _register(self, desc: Descriptor, diff_id: str, path: Path) -> None:
        """Stores of unknown thread-safety (no ingest area) get their calls one at a time."""
        ident = short_id(desc.digest)
        try:
            with self._store_lock:
                if self._abort.is_set():
                    raise Cancelled("pull cancelled")
                self.progress.bytes("Extracting", ident, 0, desc.size)
                with open(path, "rb") as f:
                    got = st.add_layer(self.store, f, diff_id)
                if got != diff_id:
                    raise DigestMismatch(
                        f"layer {desc.digest} unpacks to {got}, but the config expects {diff_id}"
                    )
                if not st.has_blob(self.store, desc.digest):
                    # Stores that do not keep a layer's source get the compressed blob too (push reuses it).
                    with open(path, "rb") as f:
                        self.store.write_blob(f, expected=desc.digest)
                self.progress.bytes("Extracting", ident, desc.size, desc.size)
        finally:
            path.unlink(missing_ok=True)

    def _finish(
        self, config_raw: bytes, manifest: Manifest, resolved: ResolvedManifest, ref: Reference
    ) -> Any:
        tags = [ref.familiar()] if ref.tag else []
        with self._store_lock:
            # Manifests are kept so a later push can reuse the exact layer blobs and media types.
            self.store.write_blob(manifest.raw, expected=resolved.manifest_digest)
            if resolved.index is not None:
                self.store.write_blob(resolved.index.raw, expected=resolved.digest)
            image = st.create_image(self.store, config_raw, tags)
            st.add_repo_digest(self.store, ref.familiar_name(), resolved.digest, image.id)
            image = self.store.get(image.id)
        if image.id != manifest.config.digest:
            raise DigestMismatch(
                f"image id {image.id} differs from the config digest {manifest.config.digest}"
            )
        return image
