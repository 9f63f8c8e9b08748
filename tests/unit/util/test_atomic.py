"""engine.util.atomic: every sync level replaces the file whole; the fsyncs each level promises happen."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from engine.util.atomic import (
    Sync,
    atomic_write_all,
    atomic_write_bytes,
    atomic_write_json,
    read_json,
    replace_if_changed,
)


@pytest.mark.parametrize("sync", list(Sync))
def test_replaces_whole_and_leaves_no_temp_file(tmp_path: Path, sync: Sync) -> None:
    target = tmp_path / "config.v2.json"
    target.write_text("old")
    atomic_write_json(target, {"b": 1, "a": [2]}, 0o600, sync=sync)
    assert target.read_text() == '{"a":[2],"b":1}'
    assert read_json(target) == {"a": [2], "b": 1}
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["config.v2.json"]


@pytest.mark.parametrize(("sync", "files", "dirs"), [(Sync.FULL, 1, 1), (Sync.DATA, 1, 0), (Sync.NONE, 0, 0)])
def test_fsyncs_per_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sync: Sync, files: int, dirs: int
) -> None:
    synced: list[bool] = []  # True for a directory
    real = os.fsync

    def spy(fd: int) -> None:
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    atomic_write_bytes(tmp_path / "f", b"x" * 100_000, sync=sync)
    assert synced.count(False) == files and synced.count(True) == dirs
    assert (tmp_path / "f").read_bytes() == b"x" * 100_000


def test_failed_rename_removes_the_temp_file(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "inside").write_text("x")  # a non-empty directory cannot be renamed over
    with pytest.raises(OSError):
        atomic_write_bytes(tmp_path / "taken", b"new", sync=Sync.NONE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_several_files_in_one_go_renamed_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    renamed: list[str] = []
    synced: list[bool] = []
    real_rename, real_fsync = os.rename, os.fsync

    def rename(src: str, dst: str) -> None:
        renamed.append(Path(dst).name)
        real_rename(src, dst)

    def fsync(fd: int) -> None:
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(os, "fsync", fsync)
    files = [(tmp_path / "hostconfig.json", b"{}"), (tmp_path / "config.v2.json", b'{"Id":"x"}')]
    atomic_write_all(files, sync=Sync.FULL)
    assert renamed == ["hostconfig.json", "config.v2.json"]  # the commit point last
    assert synced == [False, False, True]  # both files before any rename, their directory once
    assert [(p, p.read_bytes()) for p, _ in files] == files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.v2.json", "hostconfig.json"]


def test_several_files_a_failed_rename_leaves_no_temp_files(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "inside").write_text("x")
    with pytest.raises(OSError):
        atomic_write_all([(tmp_path / "first", b"1"), (tmp_path / "taken", b"2")], sync=Sync.DATA)
    assert (tmp_path / "first").read_bytes() == b"1"  # renamed before the failure, as a single write would
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first", "taken"]


def test_replace_if_changed_keeps_the_file_when_the_bytes_are_the_same(tmp_path: Path) -> None:
    target = tmp_path / "hosts"
    replace_if_changed(target, b"127.0.0.1 localhost\n")  # missing: written
    assert target.read_bytes() == b"127.0.0.1 localhost\n"
    inode = target.stat().st_ino
    replace_if_changed(target, b"127.0.0.1 localhost\n")
    assert target.stat().st_ino == inode  # not rewritten: no new inode, none deleted
    replace_if_changed(target, b"127.0.0.1 localhost\n172.18.0.2 web\n")
    assert target.read_bytes() == b"127.0.0.1 localhost\n172.18.0.2 web\n"
    replace_if_changed(target, b"127.0.0.1 localhost\n")  # a prefix of the old content is a change too
    assert target.read_bytes() == b"127.0.0.1 localhost\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hosts"]
