"""engine.kernel is the leaf the root-only work goes through: it imports no other engine package (but the
error kinds and the TYPE_CHECKING constant), and mount(8)/umount(8) run only from it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from engine.kernel import mounts

ENGINE = Path(__file__).resolve().parents[3] / "engine"


def _engine_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("engine"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("engine"))
    return found


def test_kernel_imports_nothing_of_the_engine_but_errors() -> None:
    for path in sorted((ENGINE / "kernel").glob("*.py")):
        assert _engine_imports(path) <= {"engine.errors", "engine.kernel", "engine._typecheck"}, path.name


def test_mount_tools_run_only_from_the_kernel_package() -> None:
    tool = re.compile(r"""\[["'](u?mount)["'],\s*(["']-|str\()""")  # an argv, not a syscall name
    users = sorted(str(p.relative_to(ENGINE)) for p in ENGINE.rglob("*.py") if tool.search(p.read_text()))
    assert users == ["kernel/mounts.py"]


def test_a_failed_mount_names_the_tool_and_its_message(tmp_path: Path) -> None:
    with pytest.raises(mounts.MountFailed) as e:
        mounts.mount("no-such-fs", "none", tmp_path / "missing")
    assert e.value.tool == "mount" and e.value.returncode != 0 and e.value.stderr
    assert str(e.value) == f"mount failed: {e.value.stderr}"
    with pytest.raises(mounts.MountFailed) as e:
        mounts.unmount(tmp_path)  # not a mount point: umount, then umount -l, both refuse
    assert e.value.tool == "umount" and "not mounted" in e.value.stderr
