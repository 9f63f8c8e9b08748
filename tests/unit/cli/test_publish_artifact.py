"""The publish artifact's layers and manifest, built from files without a registry."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from composer.errors import ComposerError
from composer.oci_push import Reference
from composer.publish import build_layers, image_digests_layer, manifest

VERSION = "2.40.3"


def _read(path: str) -> bytes:
    return Path(path).read_bytes()


def test_env_files_get_hashed_names_and_the_file_keeps_its_bytes(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "# a comment stays\nservices:\n  a:\n    image: x\n    env_file: [a.env]  # flow\n"
        "  b:\n    image: x\n    env_file:\n      - path: ./b.env\n        required: false\n"
        "  c:\n    image: x\n    env_file: a.env\n"
    )
    (tmp_path / "a.env").write_text("A=1\n")
    (tmp_path / "b.env").write_text("B=2\n")
    layers = build_layers([str(compose)], str(tmp_path), _read)
    a_hash = hashlib.sha256(str(tmp_path / "a.env").encode()).hexdigest() + ".env"
    b_hash = hashlib.sha256(str(tmp_path / "b.env").encode()).hexdigest() + ".env"
    (layer,) = layers.files
    assert layer.data.decode() == (
        f"# a comment stays\nservices:\n  a:\n    image: x\n    env_file: [{a_hash}]  # flow\n"
        f"  b:\n    image: x\n    env_file:\n      - path: {b_hash}\n        required: false\n"
        f"  c:\n    image: x\n    env_file: {a_hash}\n"
    )
    assert layer.annotations == {
        "com.docker.compose.file": "compose.yaml",
        "com.docker.compose.version": "2.40.3",
    }
    blobs = layers.all(with_env=True, read=_read)
    assert [(b.media_type, b.annotations["com.docker.compose.envfile"], b.data) for b in blobs[1:]] == [
        ("application/vnd.docker.compose.envfile", a_hash, b"A=1\n"),
        ("application/vnd.docker.compose.envfile", b_hash, b"B=2\n"),
    ]
    assert layers.all(with_env=False, read=_read) == [layer]


def test_extended_files_become_layers_of_their_own(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "common.yaml").write_text(
        "services:\n  base:\n    image: x\n    extends: {file: deeper.yaml, service: d}\n"
    )
    (tmp_path / "base" / "deeper.yaml").write_text("services:\n  d:\n    image: y\n")
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  web:\n    extends:\n      file: base/common.yaml\n      service: base\n")
    layers = build_layers([str(compose)], str(tmp_path), _read)
    common = hashlib.sha256(str(tmp_path / "base" / "common.yaml").encode()).hexdigest() + ".yaml"
    deeper = hashlib.sha256(str(tmp_path / "base" / "deeper.yaml").encode()).hexdigest() + ".yaml"
    assert f"file: {common}\n" in layers.files[0].data.decode()
    assert [b.annotations["com.docker.compose.file"] for b in layers.extends] == [common, deeper]
    assert all(b.annotations["com.docker.compose.extends"] == "true" for b in layers.extends)
    assert f"file: {deeper}, service: d" in layers.extends[0].data.decode()


def test_manifest_for_oci_1_1_and_1_0(tmp_path: Path) -> None:
    digests = image_digests_layer({"web": "busybox:latest@sha256:" + "a" * 64})
    config, body = manifest([digests], "1.1", created=0)
    data = json.loads(body)
    assert list(data) == ["schemaVersion", "mediaType", "artifactType", "config", "layers", "annotations"]
    assert data["config"] == {
        "mediaType": "application/vnd.oci.empty.v1+json",
        "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        "size": 2,
        "data": "e30=",
    }
    assert base64.b64decode(
        data["layers"][0]["data"]
    ) == b"services:\n  web:\n    image: busybox:latest@sha256:" + (b"a" * 64 + b"\n")
    assert data["annotations"] == {"org.opencontainers.image.created": "1970-01-01T00:00:00Z"}
    old = json.loads(manifest([digests], "1.0", created=0)[1])
    assert "artifactType" not in old
    assert old["config"]["mediaType"] == "application/vnd.docker.compose.config.empty.v1+json"
    with pytest.raises(ComposerError, match="unsupported OCI version: 2.0"):
        manifest([], "2.0")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:5000/proj:v1", ("127.0.0.1:5000", "proj", "v1")),
        ("localhost/a/b", ("localhost", "a/b", "latest")),
        ("proj", ("docker.io", "library/proj", "latest")),
        ("user/proj:1.0", ("docker.io", "user/proj", "1.0")),
        ("reg.example:443/x/y:z", ("reg.example:443", "x/y", "z")),
    ],
)
def test_references(text: str, expected: tuple[str, str, str]) -> None:
    ref = Reference.parse(text)
    assert (ref.registry, ref.path, ref.tag) == expected


@pytest.mark.parametrize("text", ["", "Upper/Case", "a b", "x:bad tag", "http://127.0.0.1/x"])
def test_bad_references(text: str) -> None:
    with pytest.raises(ComposerError, match="invalid reference format"):
        Reference.parse(text)


def test_credential_shapes_are_found_with_their_key_paths() -> None:
    from composer.secretscan import scan_document, scan_env_file

    document = {
        "services": {
            "b": {"labels": {"jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc", "plain": "hello"}},
            "a": {"command": ["echo", "AKIAIOSFODNN7EXAMPLE"], "environment": {"K": "AKIAIOSFODNN7EXAMPLE"}},
        }
    }
    found = [(f.kind, f.key) for f in scan_document(document)]
    # list items are not looked at (as the reference); keys in sorted order
    assert found == [
        ("AWS Client ID", "services.a.environment.K"),
        ("JSON Web Token", "services.b.labels.jwt"),
    ]
    env = scan_env_file("# AKIAIOSFODNN7EXAMPLE\nTOKEN='xoxb-1234567890-abcdef'\nOTHER=1\n")
    assert [(f.kind, f.key) for f in env] == [("Slack token", "TOKEN")]
