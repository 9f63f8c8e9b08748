from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.util.securejoin import resolve_in_root


def test_absolute_and_dotdot_links_stay_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "run").mkdir()
    os.symlink("/etc/shadow", root / "escape")  # absolute: taken from the container's root
    os.symlink("../../../../run", root / "etc" / "up")  # climbs past the root: stops there
    assert resolve_in_root(str(root), "/escape") == str(root / "etc" / "shadow")
    assert resolve_in_root(str(root), "/etc/up/x") == str(root / "run" / "x")
    assert resolve_in_root(str(root), "/../../x") == str(root / "x")


def test_follow_last_false_keeps_the_final_link(tmp_path: Path) -> None:
    os.symlink("/target", tmp_path / "link")
    assert resolve_in_root(str(tmp_path), "/link", follow_last=False) == str(tmp_path / "link")
    assert resolve_in_root(str(tmp_path), "/link") == str(tmp_path / "target")


def test_link_loops_fail_like_the_kernel(tmp_path: Path) -> None:
    os.symlink("/b", tmp_path / "a")
    os.symlink("/a", tmp_path / "b")
    with pytest.raises(OSError, match="too many levels of symbolic links"):
        resolve_in_root(str(tmp_path), "/a/x")


def test_a_custom_readlink_is_used() -> None:
    links = {"/r/var/run": "/run"}
    assert resolve_in_root("/r", "/var/run/x.sock", readlink=links.get) == "/r/run/x.sock"
