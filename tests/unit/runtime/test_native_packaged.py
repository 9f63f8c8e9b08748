"""engine.runtime.native: a package's prebuilt monitor is used only when built from these very sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.runtime import native


@pytest.fixture
def packaged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    binary = tmp_path / "cmon"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.setattr(native, "PACKAGED", binary)
    monkeypatch.setattr(native, "PACKAGED_KEY", tmp_path / "cmon.key")
    monkeypatch.setattr(native, "_packaged", None)
    monkeypatch.delenv(native.ENV, raising=False)
    return binary


def test_the_packaged_binary_wins_when_its_key_matches(packaged: Path, tmp_path: Path) -> None:
    (tmp_path / "cmon.key").write_text(native.source_key() + "\n")
    cache = tmp_path / "cache"
    assert native.packaged() == packaged
    assert native.built(cache) == packaged
    assert native.binary(cache) == packaged  # no compiler run, nothing written to the cache
    assert not cache.exists()


def test_a_stale_or_missing_key_falls_back_to_the_cache(packaged: Path, tmp_path: Path) -> None:
    assert native.packaged() is None  # no key file: a source checkout
    native._packaged = None
    (tmp_path / "cmon.key").write_text("0123456789abcdef\n")  # built from other sources
    assert native.packaged() is None
    cache = tmp_path / "cache"
    cache.mkdir()
    cached = cache / f"cmon-{native.source_key()}"
    cached.write_text("")
    cached.chmod(0o755)
    assert native.built(cache) == cached


def test_disabled_means_no_binary_even_when_packaged(
    packaged: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cmon.key").write_text(native.source_key())
    monkeypatch.setenv(native.ENV, "0")
    assert native.built(tmp_path) is None
