from __future__ import annotations

import json

import pytest

from engine.errors import InvalidParameter, NotFound
from engine.registry.manifest import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Index,
    Manifest,
    Platform,
    parse_manifest,
    select_platform,
)

D = "sha256:" + "0" * 64


def _digest(n: int) -> str:
    return f"sha256:{n:064x}"


def _index(entries: list[dict], media_type: str = OCI_INDEX) -> Index:
    manifests = [
        {"mediaType": OCI_MANIFEST, "digest": _digest(i + 1), "size": 100, "platform": p}
        for i, p in enumerate(entries)
    ]
    doc = parse_manifest(
        json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": manifests}).encode()
    )
    assert isinstance(doc, Index)
    return doc


def test_parses_docker_schema2_manifest() -> None:
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": D, "size": 7},
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "digest": _digest(5),
                    "size": 12,
                }
            ],
        }
    ).encode()
    doc = parse_manifest(raw)
    assert isinstance(doc, Manifest)
    assert doc.media_type == DOCKER_MANIFEST
    assert doc.config.digest == D and doc.config.size == 7
    assert [layer.digest for layer in doc.layers] == [_digest(5)]
    assert doc.raw == raw


def test_media_type_from_header_or_shape_when_body_has_none() -> None:
    body = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    assert parse_manifest(body, DOCKER_LIST + "; charset=utf-8").media_type == DOCKER_LIST
    assert parse_manifest(body).media_type == OCI_INDEX


def test_schema1_and_garbage_are_clear_errors() -> None:
    with pytest.raises(InvalidParameter, match="schema 1"):
        parse_manifest(json.dumps({"schemaVersion": 1, "fsLayers": []}).encode())
    with pytest.raises(InvalidParameter, match="not JSON"):
        parse_manifest(b"<html>")
    with pytest.raises(InvalidParameter, match="unsupported manifest media type"):
        parse_manifest(json.dumps({"mediaType": "text/plain"}).encode())


def test_selects_host_architecture_and_skips_attestations() -> None:
    idx = _index(
        [
            {"os": "unknown", "architecture": "unknown"},
            {"os": "linux", "architecture": "arm64", "variant": "v8"},
            {"os": "linux", "architecture": "amd64"},
        ]
    )
    assert select_platform(idx, Platform("linux", "amd64")).digest == _digest(3)
    assert select_platform(idx, Platform.parse("linux/arm64")).digest == _digest(2)


def test_variant_exact_match_wins_over_other_variants() -> None:
    idx = _index(
        [
            {"os": "linux", "architecture": "arm", "variant": "v6"},
            {"os": "linux", "architecture": "arm", "variant": "v7"},
        ],
        DOCKER_LIST,
    )
    assert select_platform(idx, Platform.parse("linux/arm/v7")).digest == _digest(2)
    assert select_platform(idx, Platform.parse("linux/arm/v6")).digest == _digest(1)


def test_no_matching_platform_names_what_exists() -> None:
    idx = _index([{"os": "linux", "architecture": "s390x"}])
    with pytest.raises(NotFound, match=r"no matching manifest for linux/amd64.*linux/s390x"):
        select_platform(idx, Platform("linux", "amd64"))


def test_platform_parse_normalizes_like_containerd() -> None:
    assert Platform.parse("linux/aarch64") == Platform("linux", "arm64", "v8")
    assert Platform.parse("x86_64") == Platform("linux", "amd64", "")
    assert str(Platform.parse("linux/arm")) == "linux/arm/v7"
    with pytest.raises(InvalidParameter):
        Platform.parse("linux//")
