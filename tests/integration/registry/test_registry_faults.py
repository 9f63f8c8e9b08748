"""Broken connections resume with HTTP Range; corrupted blobs are refused before the store sees them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.errors import Unavailable
from engine.images.store import ImageStore
from engine.registry import RegistryClient, RegistryOptions
from engine.registry.errors import DigestMismatch
from tests.integration.registry.helpers import busybox_image, skopeo_inspect, statuses, tree
from tests.integration.registry.proxy import Faults, fault_proxy
from tests.support.registry import Registry


def test_dropped_connection_resumes_from_the_bytes_received(
    registry: Registry,
    pushed: tuple[str, str, Any],
    make_store: Callable[[str], ImageStore],
    options: RegistryOptions,
    staging: Path,
) -> None:
    ref, digest, image = pushed
    layer = skopeo_inspect(ref)["Layers"][0]
    faults = Faults(drop={layer})
    with fault_proxy(registry.host, faults) as proxy:
        store = make_store("resume")
        msgs: list[dict[str, Any]] = []
        pulled = RegistryClient(store, options, staging_dir=staging).pull(
            f"{proxy}/library/busybox:latest", progress=msgs.append
        )
    assert pulled.id == image.id
    assert faults.dropped == {layer: 1}
    blob_gets = [(path, rng) for method, path, rng in faults.seen if method == "GET" and path.endswith(layer)]
    assert len(blob_gets) == 2
    assert blob_gets[0][1] == ""
    start = int(blob_gets[1][1].removeprefix("bytes=").rstrip("-"))
    assert start > 0  # resumed, not restarted
    assert statuses(msgs)[-1] == f"Status: Downloaded newer image for {proxy}/library/busybox:latest"
    assert store.blob_path(layer).is_file()


def test_retries_are_bounded(
    registry: Registry,
    pushed: tuple[str, str, Any],
    make_store: Callable[[str], ImageStore],
    staging: Path,
    options: RegistryOptions,
) -> None:
    ref, _, _ = pushed
    layer = skopeo_inspect(ref)["Layers"][0]
    store = make_store("bounded")
    faults = Faults(drop={layer}, drop_times=100)
    with fault_proxy(registry.host, faults) as proxy:
        client = RegistryClient(
            store, RegistryOptions(config_path=options.config_path, max_retries=2), staging_dir=staging
        )
        with pytest.raises(Unavailable, match="giving up after 2 retries"):
            client.pull(f"{proxy}/library/busybox:latest")
    ranges = [r for m, p, r in faults.seen if m == "GET" and p.endswith(layer)]
    assert len(ranges) == 3  # the first try and two resumes, each from further on
    offsets = [int(r.removeprefix("bytes=").rstrip("-") or 0) for r in ranges]
    assert offsets[0] == 0 < offsets[1] < offsets[2]
    assert list(staging.iterdir()) == []


def test_corrupted_blob_is_refused_and_the_store_is_unchanged(
    registry: Registry,
    pushed: tuple[str, str, Any],
    make_store: Callable[[str], ImageStore],
    options: RegistryOptions,
    staging: Path,
) -> None:
    ref, _, _ = pushed
    layer = skopeo_inspect(ref)["Layers"][0]
    store = make_store("corrupt")
    before = tree(store.root)
    with (
        fault_proxy(registry.host, Faults(corrupt={layer})) as proxy,
        pytest.raises(DigestMismatch, match=f"verification failed for digest {layer}"),
    ):
        RegistryClient(store, options, staging_dir=staging).pull(f"{proxy}/library/busybox:latest")
    assert tree(store.root) == before
    assert not store.blob_path(layer).exists()
    assert list(staging.iterdir()) == []


def test_corrupted_manifest_is_refused(
    registry: Registry,
    pushed: tuple[str, str, Any],
    make_store: Callable[[str], ImageStore],
    options: RegistryOptions,
    staging: Path,
) -> None:
    ref, digest, _ = pushed
    store = make_store("corrupt-manifest")
    before = tree(store.root)
    # Fetched by digest, the manifest must hash to it.
    with (
        fault_proxy(registry.host, Faults(corrupt={digest})) as proxy,
        pytest.raises(DigestMismatch, match="digest mismatch"),
    ):
        RegistryClient(store, options, staging_dir=staging).pull(f"{proxy}/library/busybox@{digest}")
    assert tree(store.root) == before


def test_blob_redirect_is_followed(
    registry: Registry,
    pushed: tuple[str, str, Any],
    make_store: Callable[[str], ImageStore],
    options: RegistryOptions,
    staging: Path,
) -> None:
    ref, _, image = pushed
    layer = skopeo_inspect(ref)["Layers"][0]
    faults = Faults(redirect={layer})
    with fault_proxy(registry.host, faults) as proxy:
        pulled = RegistryClient(make_store("redirect"), options, staging_dir=staging).pull(
            f"{proxy}/library/busybox:latest"
        )
    assert pulled.id == image.id
    assert [p for m, p, _ in faults.seen if p.endswith(layer)] == [f"/v2/library/busybox/blobs/{layer}"]


def test_broken_upload_is_started_again(
    registry: Registry,
    make_store: Callable[[str], ImageStore],
    busybox_tar: bytes,
    options: RegistryOptions,
    staging: Path,
) -> None:
    store = make_store("upload")
    faults = Faults(drop_uploads=1)
    with fault_proxy(registry.host, faults) as proxy:
        ref = f"{proxy}/retry/busybox:latest"
        image = busybox_image(store, busybox_tar, ref)
        digest = RegistryClient(store, options, staging_dir=staging).push(ref)
    assert faults.drop_uploads == 0
    posts = [p for m, p, _ in faults.seen if m == "POST" and "/blobs/uploads/" in p]
    assert len(posts) == 3  # the layer twice (first upload broken), then the config
    assert skopeo_inspect(f"{registry.host}/retry/busybox:latest")["Digest"] == digest
    assert store.get(ref).id == image.id


def test_connections_are_kept_alive(
    registry: Registry,
    pushed: tuple[str, str, Any],
    make_store: Callable[[str], ImageStore],
    options: RegistryOptions,
    staging: Path,
) -> None:
    faults = Faults()
    with fault_proxy(registry.host, faults) as proxy:
        RegistryClient(make_store("keepalive"), options, staging_dir=staging).pull(
            f"{proxy}/library/busybox:latest"
        )
    # manifest, config and layer: three requests, one TCP connection.
    assert len(faults.clients) == 3
    assert len(set(faults.clients)) == 1


def test_an_idle_connection_closed_by_the_server_is_replaced(
    registry: Registry,
    pushed: tuple[str, str, Any],
    make_store: Callable[[str], ImageStore],
    options: RegistryOptions,
    staging: Path,
) -> None:
    _, _, image = pushed
    faults = Faults(hang_up=True)
    with fault_proxy(registry.host, faults) as proxy:
        pulled = RegistryClient(make_store("hangup"), options, staging_dir=staging).pull(
            f"{proxy}/library/busybox:latest"
        )
    assert pulled.id == image.id
    assert len(set(faults.clients)) == len(faults.clients) == 3  # each request needed a fresh connection
