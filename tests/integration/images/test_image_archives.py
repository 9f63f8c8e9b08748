"""Archives written by other tools load: skopeo's OCI archives (gzip layers), old docker-archive layouts."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from engine.images.digest import sha256_bytes
from engine.images.importer import host_architecture
from engine.images.store import Image, ImageStore

pytestmark = pytest.mark.root


def _skopeo(*args: str) -> None:
    proc = subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def test_skopeo_oci_archive_loads(store: ImageStore, busybox_image: Image, tmp_path: Path) -> None:
    saved = tmp_path / "saved.tar"
    saved.write_bytes(b"".join(store.save(["busybox"])))
    oci = tmp_path / "oci.tar"
    _skopeo("copy", f"docker-archive:{saved}", f"oci-archive:{oci}:localhost:5000/copied:v1")
    fresh = ImageStore(tmp_path / "fresh")
    with oci.open("rb") as f:
        assert fresh.load(f) == ["Loaded image: localhost:5000/copied:v1"]
    loaded = fresh.get("localhost:5000/copied:v1")
    assert loaded.diff_ids == busybox_image.diff_ids  # gzip layers, same content
    assert fresh.layers.get(loaded.diff_ids[0]).sources[0] != loaded.diff_ids[0]  # the gzip blob was kept


def test_nested_index_picks_the_host_platform(store: ImageStore, busybox_image: Image, tmp_path: Path,
                                             ) -> None:
    config = store.blobs.read(busybox_image.id)
    with store.layers.open_tar(busybox_image.diff_ids[0]) as f:
        layer = gzip.compress(f.read(), compresslevel=1)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"digest": busybox_image.id, "size": len(config)},
                           "layers": [{"digest": sha256_bytes(layer), "size": len(layer)}]}).encode()
    other = {"os": "linux", "architecture": "s390x-nope"}
    index_type = "application/vnd.oci.image.index.v1+json"
    inner = json.dumps({"schemaVersion": 2, "mediaType": index_type, "manifests": [
        {"digest": "sha256:" + "0" * 64, "size": 1, "platform": other},
        {"digest": sha256_bytes(manifest), "size": len(manifest),
         "platform": {"os": "linux", "architecture": host_architecture()}},
    ]}).encode()
    outer = {"schemaVersion": 2, "manifests": [{"digest": sha256_bytes(inner), "size": len(inner),
             "mediaType": "application/vnd.oci.image.index.v1+json",
             "annotations": {"io.containerd.image.name": "docker.io/library/multi:1"}}]}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _add(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        _add(tar, "index.json", json.dumps(outer).encode())
        for blob in (config, layer, manifest, inner):
            _add(tar, f"blobs/sha256/{sha256_bytes(blob).split(':')[1]}", blob)
    fresh = ImageStore(tmp_path / "fresh")
    assert fresh.load(io.BytesIO(buf.getvalue())) == ["Loaded image: multi:1"]
    assert fresh.get("multi:1").id == busybox_image.id


def test_old_docker_archive_with_symlinked_layers(store: ImageStore, busybox_image: Image, tmp_path: Path,
                                                  ) -> None:
    config = json.loads(store.blobs.read(busybox_image.id))
    config["rootfs"]["diff_ids"] *= 2  # the same layer twice: old docker save wrote the second as a symlink
    config_bytes = json.dumps(config).encode()
    with store.layers.open_tar(busybox_image.diff_ids[0]) as f:
        layer = f.read()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _add(tar, "aaa/layer.tar", layer)
        link = tarfile.TarInfo("bbb/layer.tar")
        link.type, link.linkname = tarfile.SYMTYPE, "../aaa/layer.tar"
        tar.addfile(link)
        _add(tar, f"{sha256_bytes(config_bytes).split(':')[1]}.json", config_bytes)
        _add(tar, "manifest.json", json.dumps([{"Config": f"{sha256_bytes(config_bytes).split(':')[1]}.json",
                                                 "RepoTags": ["old:1"],
                                                 "Layers": ["aaa/layer.tar", "bbb/layer.tar"]}]).encode())
    fresh = ImageStore(tmp_path / "fresh")
    assert fresh.load(io.BytesIO(gzip.compress(buf.getvalue()))) == ["Loaded image: old:1"]
    assert fresh.get("old:1").id == sha256_bytes(config_bytes)
    assert len(fresh.layers.diff_ids()) == 1
