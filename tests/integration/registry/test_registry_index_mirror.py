"""Multi-platform OCI indexes (gzip and zstd layers), and Docker Hub names resolved through a mirror."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zstandard

from engine.errors import NotFound
from engine.images.store import ImageStore
from engine.registry import RegistryClient, RegistryOptions
from engine.registry.manifest import OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_LAYER_ZSTD, OCI_MANIFEST
from tests.integration.registry.helpers import busybox_image, statuses
from tests.support.registry import Registry


def _blob(layout: Path, data: bytes) -> dict[str, Any]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(data)
    return {"digest": digest, "size": len(data)}


def _small_tar(text: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("etc/arch")
        info.size = len(text)
        tar.addfile(info, io.BytesIO(text.encode()))
    return buf.getvalue()


def make_index_layout(layout: Path, amd64_tar: bytes) -> dict[str, str]:
    """An OCI image layout holding an index: linux/amd64 (gzip layer), linux/arm64 (zstd layer), and an
    attestation-like unknown/unknown entry. Returns the diff_id of each platform's layer."""
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    arm_tar = _small_tar("arm64\n")
    entries = []
    diff_ids = {}
    for arch, tar, compress, media in (
        ("amd64", amd64_tar, lambda b: gzip.compress(b, mtime=0), OCI_LAYER_GZIP),
        ("arm64", arm_tar, lambda b: zstandard.ZstdCompressor().compress(b), OCI_LAYER_ZSTD),
    ):
        diff_id = "sha256:" + hashlib.sha256(tar).hexdigest()
        diff_ids[arch] = diff_id
        layer = _blob(layout, compress(tar))
        config = _blob(
            layout,
            json.dumps(
                {
                    "architecture": arch,
                    "os": "linux",
                    **({"variant": "v8"} if arch == "arm64" else {}),
                    "config": {"Cmd": ["sh"]},
                    "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                }
            ).encode(),
        )
        manifest = _blob(
            layout,
            json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": OCI_CONFIG, **config},
                    "layers": [{"mediaType": media, **layer}],
                }
            ).encode(),
        )
        plat = {"os": "linux", "architecture": arch, **({"variant": "v8"} if arch == "arm64" else {})}
        entries.append({"mediaType": OCI_MANIFEST, **manifest, "platform": plat})
    index = _blob(
        layout, json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
    )
    (layout / "index.json").write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "manifests": [
                    {
                        "mediaType": OCI_INDEX,
                        **index,
                        "annotations": {"org.opencontainers.image.ref.name": "latest"},
                    }
                ],
            }
        )
    )
    diff_ids["index"] = index["digest"]
    return diff_ids


@pytest.fixture
def multi(registry: Registry, tmp_path: Path, busybox_tar: bytes) -> tuple[str, dict[str, str]]:
    info = make_index_layout(tmp_path / "layout", busybox_tar)
    ref = f"{registry.host}/multi/busybox:latest"
    subprocess.run(
        [
            "skopeo",
            "copy",
            "--all",
            "--dest-tls-verify=false",
            "--preserve-digests",
            f"oci:{tmp_path / 'layout'}:latest",
            f"docker://{ref}",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return ref, info


def test_index_pull_picks_the_platform(
    multi: tuple[str, dict[str, str]],
    make_store: Callable[[str], ImageStore],
    options: RegistryOptions,
    staging: Path,
) -> None:
    ref, info = multi
    store = make_store("amd")
    msgs: list[dict[str, Any]] = []
    amd = RegistryClient(store, options, staging_dir=staging).pull(
        ref, platform="linux/amd64", progress=msgs.append
    )
    assert amd.config["architecture"] == "amd64"
    assert amd.config["rootfs"]["diff_ids"] == [info["amd64"]]
    # The repo digest is the index's, as Docker records it.
    assert f"Digest: {info['index']}" in statuses(msgs)
    assert amd.repo_digests == (f"{ref.rsplit(':', 1)[0]}@{info['index']}",)


def test_index_pull_of_zstd_arm64_variant(
    multi: tuple[str, dict[str, str]],
    make_store: Callable[[str], ImageStore],
    options: RegistryOptions,
    staging: Path,
) -> None:
    ref, info = multi
    store = make_store("arm")
    arm = RegistryClient(store, options, staging_dir=staging).pull(ref, platform="linux/arm64")
    assert arm.config["architecture"] == "arm64" and arm.config["variant"] == "v8"
    assert arm.config["rootfs"]["diff_ids"] == [info["arm64"]]
    assert (store.lower_dirs(arm)[0] / "etc" / "arch").read_text() == "arm64\n"


def test_index_without_the_platform_is_a_clear_error(
    multi: tuple[str, dict[str, str]],
    make_store: Callable[[str], ImageStore],
    options: RegistryOptions,
    staging: Path,
) -> None:
    ref, _ = multi
    with pytest.raises(NotFound, match=r"no matching manifest for linux/s390x.*linux/amd64, linux/arm64/v8"):
        RegistryClient(make_store("s390x"), options, staging_dir=staging).pull(ref, platform="linux/s390x")


def test_hub_name_resolves_through_a_registry_mirror(
    registry: Registry,
    make_store: Callable[[str], ImageStore],
    busybox_tar: bytes,
    options: RegistryOptions,
    staging: Path,
) -> None:
    source = make_store("src")
    image = busybox_image(source, busybox_tar, f"{registry.host}/library/busybox:latest")
    RegistryClient(source, options, staging_dir=staging).push(f"{registry.host}/library/busybox:latest")
    mirrored = RegistryOptions(
        mirrors=(f"http://{registry.host}",), config_path=options.config_path, certs_dir=options.certs_dir
    )
    store = make_store("dst")
    msgs: list[dict[str, Any]] = []
    pulled = RegistryClient(store, mirrored, staging_dir=staging).pull("busybox", progress=msgs.append)
    assert pulled.id == image.id
    assert pulled.repo_tags == ("busybox:latest",)
    assert statuses(msgs)[0] == "Pulling from library/busybox"
    assert statuses(msgs)[-1] == "Status: Downloaded newer image for busybox:latest"
    assert store.get("docker.io/library/busybox:latest").id == image.id


def test_push_keeps_the_oci_manifest_the_image_was_pulled_with(
    registry: Registry,
    multi: tuple[str, dict[str, str]],
    make_store: Callable[[str], ImageStore],
    options: RegistryOptions,
    staging: Path,
    tmp_path: Path,
) -> None:
    ref, _ = multi
    store = make_store("oci")
    client = RegistryClient(store, options, staging_dir=staging)
    image = client.pull(ref, platform="linux/arm64")
    target = f"{registry.host}/copies/arm:1"
    store.tag(image.id, target)
    msgs: list[dict[str, Any]] = []
    digest = client.push(target, progress=msgs.append)
    assert any(s.startswith("Mounted from multi/busybox") for s in statuses(msgs))
    raw = json.loads(
        subprocess.run(
            ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{target}"],
            check=True,
            capture_output=True,
            timeout=60,
        ).stdout
    )
    assert raw["mediaType"] == OCI_MANIFEST
    assert raw["layers"][0]["mediaType"] == OCI_LAYER_ZSTD
    assert raw["config"]["digest"] == image.id
    assert f"{registry.host}/copies/arm@{digest}" in store.get(image.id).repo_digests
