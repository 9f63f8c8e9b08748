"""Fetch a blob into a file or a store blob writer as it streams, resuming with HTTP Range on breaks."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Generator
from pathlib import Path

from engine.errors import InvalidParameter, Unavailable
from engine.registry.errors import DigestMismatch
from engine.registry.transport import NETWORK_ERRORS, Session, registry_error

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024  # big reads: fewer Python-level round trips per MiB on a fast (loopback) link
ProgressFn = Callable[[int, int], None]  # (bytes so far, total)


def hasher_for(digest: str) -> hashlib._Hash:
    algo, _, hexpart = digest.partition(":")
    if algo not in ("sha256", "sha512") or not hexpart:
        raise InvalidParameter(f"unsupported digest {digest!r}")
    return hashlib.new(algo)


def verify_bytes(data: bytes, digest: str) -> None:
    """Raise DigestMismatch unless `data` hashes to `digest` (manifests and configs, which are small)."""
    h = hasher_for(digest)
    h.update(data)
    got = f"{digest.partition(':')[0]}:{h.hexdigest()}"
    if got != digest:
        raise DigestMismatch(f"digest mismatch: expected {digest}, got {got}")


def fetch_blob(
    session: Session,
    digest: str,
    size: int,
    dest: Path,
    *,
    max_retries: int = 5,
    progress: ProgressFn | None = None,
    backoff: float = 0.2,
) -> Path:
    """Download blob `digest` into `dest`; verified before returning. On mismatch `dest` is removed."""
    h = hasher_for(digest)
    with open(dest, "wb") as out:
        for chunk in iter_blob(
            session, digest, size, max_retries=max_retries, progress=progress, backoff=backoff
        ):
            h.update(chunk)
            out.write(chunk)
    got = f"{digest.partition(':')[0]}:{h.hexdigest()}"
    if got != digest:
        dest.unlink(missing_ok=True)
        raise DigestMismatch(f"filesystem layer verification failed for digest {digest}: got {got}")
    return dest


def iter_blob(
    session: Session,
    digest: str,
    size: int,
    *,
    max_retries: int = 5,
    progress: ProgressFn | None = None,
    backoff: float = 0.2,
) -> Generator[bytes, None, None]:
    """The bytes of blob `digest` in order, as they arrive; the consumer verifies the digest.

    A connection that breaks mid-body is reopened with `Range: bytes=<received>-` up to `max_retries` times,
    so the consumer sees one unbroken stream. A server that ignores Range sends the whole blob again; its
    first `received` bytes are skipped (the consumer's digest covers exactly the bytes it was given).
    """
    received = 0
    failures = 0
    while True:
        headers = {"Range": f"bytes={received}-"} if received else {}
        try:
            resp = session.request("GET", f"{session.path}/blobs/{digest}", headers, timeout=60)
        except NETWORK_ERRORS as exc:
            failures = _retry_or_raise(digest, failures, max_retries, exc, backoff)
            continue
        skip = 0
        if resp.status == 206 and _range_start(resp.header("Content-Range")) != received:
            resp.close()
            raise InvalidParameter(
                f"fetching blob {digest}: registry answered a range that does not start at {received}"
            )
        if resp.status == 200 and received:
            log.info("registry ignored range request digest=%s offset=%d", digest, received)
            skip = received
        elif resp.status not in (200, 206):
            if resp.status >= 500 or resp.status == 429:
                resp.body()
                failures = _retry_or_raise(
                    digest, failures, max_retries, OSError(f"HTTP {resp.status}"), backoff
                )
                continue
            raise registry_error(resp, f"fetching blob {digest}")
        try:
            while True:
                chunk = resp.read(CHUNK)
                if not chunk:
                    break
                if skip:
                    dropped = min(skip, len(chunk))
                    chunk, skip = chunk[dropped:], skip - dropped
                    if not chunk:
                        continue
                received += len(chunk)
                if size and received > size:
                    raise DigestMismatch(f"blob {digest} is longer than its descriptor's size {size}")
                yield chunk
                if progress:
                    progress(received, size)
        except NETWORK_ERRORS as exc:
            failures = _retry_or_raise(digest, failures, max_retries, exc, backoff)
            continue
        finally:
            resp.close()
        if size and received < size:
            # A clean EOF before the end is a dropped connection too (Content-Length was a lie or absent).
            failures = _retry_or_raise(
                digest, failures, max_retries, OSError(f"short read {received}/{size}"), backoff
            )
            continue
        return


def _range_start(content_range: str) -> int | None:
    """The first byte of `Content-Range: bytes 100-199/200`."""
    unit, _, spec = content_range.strip().partition(" ")
    first = spec.split("-", 1)[0]
    return int(first) if unit == "bytes" and first.isdigit() else None


def _retry_or_raise(digest: str, failures: int, max_retries: int, exc: BaseException, backoff: float) -> int:
    failures += 1
    if failures > max_retries:
        raise Unavailable(f"fetching blob {digest}: giving up after {max_retries} retries: {exc}") from None
    log.warning("blob download interrupted, resuming digest=%s attempt=%d error=%s", digest, failures, exc)
    time.sleep(min(backoff * 2 ** (failures - 1), 2.0))
    return failures
