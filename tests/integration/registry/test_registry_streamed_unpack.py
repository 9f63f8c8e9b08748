"""Layers are unpacked while they download: one stored copy of each blob, and the safety of the old way
(nothing stored on a mismatch, resumable downloads) kept."""

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

from engine.errors import InvalidParameter
from engine.images.store import ImageStore
from engine.registry import RegistryClient, RegistryOptions
from tests.integration.registry.helpers import skopeo_inspect, tree
from tests.integration.registry.proxy import Faults, fault_proxy
from tests.support.registry import Registry


def test_pulled_layer_blob_is_its_only_kept_source(
    pushed: tuple[str, str, Any],
    make_store: Callable[[str], ImageStore],
    options: RegistryOptions,
    staging: Path,
) -> None:
    ref, _, _ = pushed
    layer = skopeo_inspect(ref)["Layers"][0]
    store = make_store("one-copy")
    image = RegistryClient(store, options, staging_dir=staging).pull(ref)
    kept = store.layers.get(image.diff_ids[0])
    assert kept.sources == (layer,)  # the downloaded blob itself, not a recompressed second copy
    assert layer in store.blobs.digests()
    assert list((store.root / "ingest").iterdir()) == []
    with (
        store.layers.open_tar(image.diff_ids[0]) as tar_stream,
        tarfile.open(fileobj=tar_stream, mode="r|") as tar,
    ):
        names = tar.getnames()
    assert "bin/busybox" in names


def test_registry_ignoring_range_after_a_drop_still_gives_the_right_layer(
    registry: Registry,
    pushed: tuple[str, str, Any],
    make_store: Callable[[str], ImageStore],
    options: RegistryOptions,
    staging: Path,
) -> None:
    ref, _, image = pushed
    layer = skopeo_inspect(ref)["Layers"][0]
    faults = Faults(drop={layer}, ignore_range=True)
    with fault_proxy(registry.host, faults) as proxy:
        pulled = RegistryClient(make_store("norange"), options, staging_dir=staging).pull(
            f"{proxy}/library/busybox:latest"
        )
    assert pulled.id == image.id
    ranges = [r for m, p, r in faults.seen if m == "GET" and p.endswith(layer)]
    assert ranges[0] == "" and ranges[1].startswith("bytes=")  # resumed, and answered with the whole blob
    assert (make_store("norange").lower_dirs(pulled)[0] / "bin" / "busybox").is_file()


def _push_mislabelled_image(tmp: Path, ref: str) -> str:
    """Push (with skopeo) an image whose config names a wrong diff_id for its valid gzip layer."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    layer = gzip.compress(buf.getvalue())
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "ab" * 32]},
        }
    ).encode()
    layout = tmp / "bad-layout"
    layout.mkdir()
    (layout / "version").write_text("Directory Transport Version: 1.1\n")

    def blob(data: bytes, media_type: str) -> dict[str, Any]:
        hexd = hashlib.sha256(data).hexdigest()
        (layout / hexd).write_bytes(data)
        return {"mediaType": media_type, "digest": f"sha256:{hexd}", "size": len(data)}

    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": blob(config, "application/vnd.docker.container.image.v1+json"),
        "layers": [blob(layer, "application/vnd.docker.image.rootfs.diff.tar.gzip")],
    }
    (layout / "manifest.json").write_text(json.dumps(manifest))
    subprocess.run(
        ["skopeo", "copy", "--dest-tls-verify=false", f"dir:{layout}", f"docker://{ref}"],
        check=True,
        capture_output=True,
    )
    return str(manifest["layers"][0]["digest"])  # type: ignore[index]


def test_layer_whose_content_differs_from_the_config_leaves_nothing(
    registry: Registry,
    make_store: Callable[[str], ImageStore],
    options: RegistryOptions,
    staging: Path,
    tmp_path: Path,
) -> None:
    # The blob verifies (and is committed at the end of its streamed download), but it unpacks to another
    # diff_id than the config says: the layer is refused and the blob goes again.
    ref = f"{registry.host}/r2/bad:1"
    layer = _push_mislabelled_image(tmp_path, ref)
    store = make_store("dst")
    before = tree(store.root)
    with pytest.raises(InvalidParameter, match="layer digest mismatch"):
        RegistryClient(store, options, staging_dir=staging).pull(ref)
    assert tree(store.root) == before
    assert not store.blob_path(layer).exists()
