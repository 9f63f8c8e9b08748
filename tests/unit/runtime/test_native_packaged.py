"""engine.runtime.native: which monitor binary the engine runs (a package's prebuilt one only when built
from these very sources, else one built into the cache), and the clear error when none can be had."""

from __future__ import annotations

import logging
import os
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
    (tmp_path / "cmon.key").write_text("0123456789abcdef\n")  # built from other sources
    assert native.packaged() is None
    cache = tmp_path / "cache"
    cache.mkdir()
    assert native.built(cache) is None
    cached = cache / f"cmon-{native.source_key()}"
    cached.write_text("")
    cached.chmod(0o755)
    assert native.built(cache) == cached
    assert native.binary(cache) == cached


def empty_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cc_script: str | None = None) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if cc_script is not None:
        (bin_dir / "cc").write_text(cc_script)
        (bin_dir / "cc").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))


def test_no_compiler_is_a_clear_error(
    packaged: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty_path(tmp_path, monkeypatch)
    with pytest.raises(native.Unavailable) as caught:
        native.binary(tmp_path / "cache")
    assert str(caught.value) == (
        "the container monitor is not built and no C compiler (cc or gcc) is in PATH to build it: "
        "install a C compiler and libc's headers, e.g. `apt-get install gcc libc6-dev`"
    )


def test_a_failing_compiler_is_named_with_its_first_error_and_logged_once(
    packaged: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls = tmp_path / "calls"
    empty_path(tmp_path, monkeypatch,
               f"#!/bin/sh\necho x >> {calls}\necho 'cc: fatal error: stdio.h: No such file' >&2\nexit 1\n")
    monitors = native.Monitors(tmp_path / "cache")
    with caplog.at_level(logging.ERROR, logger=native.__name__):
        for _ in range(3):  # every start fails with the same reason; the build is tried once
            with pytest.raises(native.Unavailable) as caught:
                monitors.program()
            assert str(caught.value) == (
                f"the container monitor did not build with {tmp_path / 'bin' / 'cc'}: cc: fatal error: "
                "stdio.h: No such file (install a C compiler and libc's headers, e.g. "
                "`apt-get install gcc libc6-dev`)"
            )
    assert calls.read_text() == "x\n"
    assert [r.getMessage() for r in caplog.records] == [f"no container can start: {caught.value}"]
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [".lock"]  # no half-built binary left


def test_monitors_build_once_into_the_cache(packaged: Path, tmp_path: Path) -> None:
    if native.compiler() is None:
        pytest.fail("no C compiler: .ci/setup installs gcc")
    monitors = native.Monitors(tmp_path / "cache")
    program = monitors.program()
    exe = Path(program.exe)
    assert exe == tmp_path / "cache" / f"cmon-{native.source_key()}" and os.access(exe, os.X_OK)
    assert program.argv == (native.ARGV0,)
    before = exe.stat()
    assert native.Monitors(tmp_path / "cache").program() == program  # found, not built again
    after = exe.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
