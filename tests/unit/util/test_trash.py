"""engine.util.trash: a discarded tree is gone from its place at once and deleted in the background; what a
killed daemon left in the trash is deleted at the next start."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from engine.util.trash import Trash


def _tree(where: Path) -> Path:
    (where / "upper" / "etc").mkdir(parents=True)
    (where / "upper" / "etc" / "hosts").write_text("127.0.0.1 localhost\n")
    (where / "config.v2.json").write_text("{}")
    return where


def test_discard_takes_the_tree_away_now_and_deletes_it_later(tmp_path: Path) -> None:
    trash = Trash(tmp_path / ".trash")
    first, second = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    trash.discard(first)
    trash.discard(second)
    assert not first.exists() and not second.exists()
    _tree(tmp_path / "a")  # the name is free again at once (a container re-created under its id)
    assert trash.drain(timeout=60)
    assert list((tmp_path / ".trash").iterdir()) == []
    assert (tmp_path / "a" / "config.v2.json").exists()
    trash.discard(tmp_path / "missing")  # nothing there: nothing to do


def test_leftovers_of_a_killed_daemon_go_at_the_next_start(tmp_path: Path) -> None:
    _tree(tmp_path / ".trash" / "c0ffee-1234abcd")
    trash = Trash(tmp_path / ".trash")
    assert trash.drain(timeout=60)
    assert list((tmp_path / ".trash").iterdir()) == []


def test_another_filesystem_is_deleted_in_place(tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir():
        pytest.skip("no /dev/shm")
    with tempfile.TemporaryDirectory(dir=shm) as other:
        if Path(other).stat().st_dev == tmp_path.stat().st_dev:
            pytest.skip("/dev/shm is on the same filesystem here")
        removed: list[Path] = []
        trash = Trash(Path(other) / ".trash", remove=lambda p: (removed.append(p), _rm(p)))
        victim = _tree(tmp_path / "x")
        trash.discard(victim)  # rename fails with EXDEV: deleted before discard returns
        assert removed == [victim] and not victim.exists()
        # `first` (a record's commit file) is gone before the rest is deleted
        victim = _tree(tmp_path / "y")
        (victim / "config.v2.json").write_text("{}")
        left_when_removed: list[bool] = []

        def remove(path: Path) -> None:
            left_when_removed.append((path / "config.v2.json").exists())
            _rm(path)

        trash = Trash(Path(other) / ".trash2", remove=remove)
        trash.discard(victim, first=victim / "config.v2.json")
        assert left_when_removed == [False] and not victim.exists()


def _rm(path: Path) -> None:
    import shutil

    shutil.rmtree(path)
