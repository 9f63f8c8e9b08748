"""Push to and pull from a real docker-registry over plain HTTP; skopeo checks what the registry holds."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.images.store import ImageStore
from engine.registry import RegistryClient, RegistryOptions
from engine.registry.manifest import DOCKER_MANIFEST
from tests.integration.registry.helpers import busybox_image, skopeo_inspect, statuses
from tests.support.registry import Registry


def test_push_then_skopeo_sees_a_valid_image(pushed: tuple[str, str, Any], tmp_path: Path) -> None:
    ref, digest, image = pushed
    info = skopeo_inspect(ref)
    assert info["Digest"] == digest
    assert info["Architecture"] == "amd64" and info["Os"] == "linux"
    raw = skopeo_inspect(ref, raw=True)
    assert raw["mediaType"] == DOCKER_MANIFEST
    assert raw["config"]["digest"] == image.id
    assert len(raw["layers"]) == 1 and raw["layers"][0]["mediaType"].endswith("tar.gzip")
    # skopeo copy re-verifies every blob's digest while copying.
    dest = tmp_path / "copied"
    subprocess.run(
        ["skopeo", "copy", "--src-tls-verify=false", f"docker://{ref}", f"dir:{dest}"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    manifest = json.loads((dest / "manifest.json").read_text())
    for desc in (manifest["config"], *manifest["layers"]):
        blob = (dest / desc["digest"].split(":")[1]).read_bytes()
        assert "sha256:" + hashlib.sha256(blob).hexdigest() == desc["digest"]
        assert len(blob) == desc["size"]
    assert manifest["config"]["digest"] == image.id


def test_push_progress_messages_look_like_docker_push(
    registry: Registry,
    make_store: Callable[[str], ImageStore],
    busybox_tar: bytes,
    options: RegistryOptions,
    staging: Path,
) -> None:
    store = make_store("src")
    ref = f"{registry.host}/team/app:v1"
    image = busybox_image(store, busybox_tar, ref)
    short = image.config["rootfs"]["diff_ids"][0].split(":")[1][:12]
    msgs: list[dict[str, Any]] = []
    client = RegistryClient(store, options, staging_dir=staging)
    digest = client.push(ref, progress=msgs.append)
    seen = statuses(msgs)
    assert seen[0] == f"The push refers to repository [{registry.host}/team/app]"
    assert {"status": "Preparing", "progressDetail": {}, "id": short} in msgs
    pushing = [m for m in msgs if m.get("status") == "Pushing"]
    assert pushing and pushing[-1]["progressDetail"]["current"] == pushing[-1]["progressDetail"]["total"]
    assert {"status": "Pushed", "progressDetail": {}, "id": short} in msgs
    size = len(
        subprocess.run(
            ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
            check=True,
            capture_output=True,
            timeout=60,
        ).stdout
    )
    assert f"v1: digest: {digest} size: {size}" in seen
    assert msgs[-1] == {"progressDetail": {}, "aux": {"Tag": "v1", "Digest": digest, "Size": size}}
    assert f"{registry.host}/team/app@{digest}" in store.get(ref).repo_digests
    assert list(staging.iterdir()) == []  # staged compressions are cleaned up

    again: list[dict[str, Any]] = []
    assert client.push(ref, progress=again.append) == digest
    assert {"status": "Layer already exists", "progressDetail": {}, "id": short} in again
    assert "Pushing" not in statuses(again)


def test_pull_into_a_clean_store(
    pushed: tuple[str, str, Any],
    make_store: Callable[[str], ImageStore],
    options: RegistryOptions,
    staging: Path,
) -> None:
    ref, digest, image = pushed
    store = make_store("clean")
    msgs: list[dict[str, Any]] = []
    pulled = RegistryClient(store, options, staging_dir=staging).pull(ref, progress=msgs.append)
    assert pulled.id == image.id
    assert pulled.config == image.config
    host = ref.split("/")[0]
    assert pulled.repo_tags == (ref,)
    assert pulled.repo_digests == (f"{host}/library/busybox@{digest}",)
    layer_digest = skopeo_inspect(ref)["Layers"][0]
    short = layer_digest.split(":")[1][:12]
    seen = statuses(msgs)
    assert msgs[0] == {"status": "Pulling from library/busybox", "id": "latest"}
    assert {"status": "Pulling fs layer", "progressDetail": {}, "id": short} in msgs
    downloading = [m for m in msgs if m.get("status") == "Downloading"]
    assert downloading and downloading[-1]["id"] == short
    assert downloading[-1]["progressDetail"]["current"] == downloading[-1]["progressDetail"]["total"]
    assert {"status": "Pull complete", "progressDetail": {}, "id": short} in msgs
    assert seen[-2:] == [f"Digest: {digest}", f"Status: Downloaded newer image for {ref}"]
    # The layer is unpacked and usable: busybox is in the diff dir.
    diff_dir = store.lower_dirs(pulled)[0]
    assert (diff_dir / "bin" / "busybox").stat().st_size > 100_000
    assert list(staging.iterdir()) == []

    again: list[dict[str, Any]] = []
    RegistryClient(store, options, staging_dir=staging).pull(ref, progress=again.append)
    assert statuses(again)[-1] == f"Status: Image is up to date for {ref}"
    assert "Downloading" not in statuses(again)


def test_pull_by_digest_and_shared_layer_is_not_downloaded_again(
    registry: Registry,
    pushed: tuple[str, str, Any],
    make_store: Callable[[str], ImageStore],
    busybox_tar: bytes,
    options: RegistryOptions,
    staging: Path,
) -> None:
    ref, digest, image = pushed
    store = make_store("dedupe")
    client = RegistryClient(store, options, staging_dir=staging)
    by_digest = client.pull(f"{registry.host}/library/busybox@{digest}")
    assert by_digest.id == image.id and by_digest.repo_tags == ()
    assert by_digest.repo_digests == (f"{registry.host}/library/busybox@{digest}",)
    # Another image on the same layer (a different config): only its config is fetched.
    source = make_store("source2")
    other_ref = f"{registry.host}/library/busybox:other"
    other = busybox_image(source, busybox_tar, other_ref, cmd=["echo", "other"])
    RegistryClient(source, options, staging_dir=staging).push(other_ref)
    msgs: list[dict[str, Any]] = []
    pulled = client.pull(other_ref, progress=msgs.append)
    assert pulled.id == other.id != image.id
    layer_short = skopeo_inspect(other_ref)["Layers"][0].split(":")[1][:12]
    assert {"status": "Already exists", "progressDetail": {}, "id": layer_short} in msgs
    assert "Downloading" not in statuses(msgs)
    assert statuses(msgs)[-1] == f"Status: Downloaded newer image for {other_ref}"


def test_cross_repository_mount(
    pushed: tuple[str, str, Any],
    make_store: Callable[[str], ImageStore],
    options: RegistryOptions,
    staging: Path,
) -> None:
    ref, _, image = pushed
    host = ref.split("/")[0]
    store = make_store("mount")
    client = RegistryClient(store, options, staging_dir=staging)
    client.pull(ref)
    store.tag(ref, f"{host}/mirror/busybox:copy")
    msgs: list[dict[str, Any]] = []
    digest = client.push(f"{host}/mirror/busybox:copy", progress=msgs.append)
    short = image.config["rootfs"]["diff_ids"][0].split(":")[1][:12]
    assert {"status": "Mounted from library/busybox", "progressDetail": {}, "id": short} in msgs
    assert "Pushing" not in statuses(msgs)
    assert skopeo_inspect(f"{host}/mirror/busybox:copy")["Digest"] == digest
    assert digest == skopeo_inspect(ref)["Digest"]  # the pulled manifest is pushed verbatim


def test_chunked_upload(
    registry: Registry,
    make_store: Callable[[str], ImageStore],
    busybox_tar: bytes,
    options: RegistryOptions,
    staging: Path,
    tmp_path: Path,
) -> None:
    store = make_store("chunked")
    ref = f"{registry.host}/chunked/busybox:latest"
    busybox_image(store, busybox_tar, ref)
    msgs: list[dict[str, Any]] = []
    digest = RegistryClient(store, options, staging_dir=staging).push(
        ref, progress=msgs.append, chunk_size=256 * 1024
    )
    pushing = [m["progressDetail"]["current"] for m in msgs if m.get("status") == "Pushing"]
    assert len(pushing) > 3
    dest = tmp_path / "chunked-copy"
    subprocess.run(
        ["skopeo", "copy", "--src-tls-verify=false", f"docker://{ref}", f"dir:{dest}"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert skopeo_inspect(ref)["Digest"] == digest
