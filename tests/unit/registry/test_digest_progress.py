from __future__ import annotations

import hashlib

import pytest

from engine.errors import InvalidParameter
from engine.registry.blobs import verify_bytes
from engine.registry.errors import DigestMismatch
from engine.registry.progress import Progress, short_id


def test_verify_bytes_accepts_matching_and_rejects_other() -> None:
    data = b"hello"
    verify_bytes(data, "sha256:" + hashlib.sha256(data).hexdigest())
    verify_bytes(data, "sha512:" + hashlib.sha512(data).hexdigest())
    with pytest.raises(DigestMismatch, match="digest mismatch: expected sha256:"):
        verify_bytes(b"hellO", "sha256:" + hashlib.sha256(data).hexdigest())
    with pytest.raises(InvalidParameter, match="unsupported digest"):
        verify_bytes(data, "md5:abc")


def test_progress_messages_have_dockers_shape() -> None:
    seen: list[dict] = []
    p = Progress(seen.append)
    ident = short_id("sha256:" + "ab" * 32)
    assert ident == "abababababab"
    p.layer("Pulling fs layer", ident)
    for cur in range(0, 1_000_001, 1000):
        p.bytes("Downloading", ident, cur, 1_000_000)
    p.layer("Pull complete", ident)
    assert seen[0] == {"status": "Pulling fs layer", "progressDetail": {}, "id": ident}
    downloads = [m for m in seen if m["status"] == "Downloading"]
    assert 2 <= len(downloads) <= 102  # thinned, but the final 100% is always sent
    assert downloads[-1]["progressDetail"] == {"current": 1_000_000, "total": 1_000_000}
    assert downloads[-1]["progress"].startswith("[" + "=" * 50 + "]")
    assert seen[-1]["status"] == "Pull complete"


def test_content_range_start() -> None:
    from engine.registry.blobs import _range_start

    assert _range_start("bytes 100-199/200") == 100
    assert _range_start("bytes 0-0/*") == 0
    assert _range_start("items 1-2/3") is None
    assert _range_start("") is None


def test_download_progress_is_rate_limited_per_layer() -> None:
    seen: list[dict] = []
    p = Progress(seen.append)
    for ident in ("aaaaaaaaaaaa", "bbbbbbbbbbbb"):
        for cur in range(0, 10_000_001, 100_000):
            p.bytes("Downloading", ident, cur, 10_000_000, min_interval=60.0)
    # within the interval only each layer's first and final (100%) messages go out
    assert [(m["id"], m["progressDetail"]["current"]) for m in seen] == [
        ("aaaaaaaaaaaa", 0),
        ("aaaaaaaaaaaa", 10_000_000),
        ("bbbbbbbbbbbb", 0),
        ("bbbbbbbbbbbb", 10_000_000),
    ]
