from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from composer.loader.normalize import json_view
from composer.loader.pipeline import LoadOptions, load_project
from tests.support.reference import reference_binary

REFERENCE = reference_binary() or "docker-compose"
BASE_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/root"}


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture
def tree(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Write {relative path: text} under a fresh project directory named `proj`."""
    root = tmp_path / "proj"
    root.mkdir()
    return lambda files: write_tree(root, files)


def load(cwd: Path, *files: str, env: dict[str, str] | None = None, **kw: Any) -> Any:
    return load_project(
        LoadOptions(files=list(files), working_dir=str(cwd), environ={**BASE_ENV, **(env or {})}, **kw)
    )


def _unescape(value: Any) -> Any:
    """The reference's output escapes `$` as `$$`; compare values, not escaping."""
    if isinstance(value, dict):
        return {k.replace("$$", "$"): _unescape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unescape(v) for v in value]
    return value.replace("$$", "$") if isinstance(value, str) else value


def reference_config(cwd: Path, args: list[str], env: dict[str, str] | None = None) -> tuple[Any, str]:
    """(parsed JSON or None, stderr) of `docker-compose ARGS config --format json`."""
    proc = subprocess.run(
        [REFERENCE, *args, "config", "--format", "json"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**BASE_ENV, **(env or {})},
        timeout=30,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        return None, proc.stderr.strip()
    return _unescape(json.loads(proc.stdout)), proc.stderr.strip()


def ours_config(cwd: Path, args: list[str], env: dict[str, str] | None = None) -> Any:
    files: list[str] = []
    kw: dict[str, Any] = {}
    rest = list(args)
    while rest:
        flag = rest.pop(0)
        if flag == "-f":
            files.append(rest.pop(0))
        elif flag == "-p":
            kw["project_name"] = rest.pop(0)
        elif flag == "--profile":
            kw.setdefault("profiles", []).append(rest.pop(0))
        elif flag == "--env-file":
            kw.setdefault("env_files", []).append(rest.pop(0))
        elif flag == "--project-directory":
            kw["project_directory"] = rest.pop(0)
        else:
            raise AssertionError(f"unsupported flag {flag}")
    return json_view(load(cwd, *files, env=env, **kw).canonical)
