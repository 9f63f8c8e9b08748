"""Fixtures for the model tests: our loader stages on a file, and the reference binary on the same file."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from composer.loader.discovery import normalize_project_name
from composer.loader.interpolate import interpolate
from composer.loader.merge import enforce_unicity
from composer.loader.normalize import NormalizeContext, json_view, normalize
from composer.loader.validate import check_consistency, validate_schema
from composer.loader.yamlsrc import parse_documents
from tests.support.reference import reference_binary

ENV = {"HOME": "/home/tester", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}


class Reference:
    def __init__(self, binary: str) -> None:
        self.binary = binary

    def run(self, project_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**ENV, "DOCKER_CONFIG": str(project_dir / ".docker")}
        return subprocess.run(
            [self.binary, *args], cwd=project_dir, env=env, capture_output=True, text=True, timeout=30
        )

    def config(self, project_dir: Path) -> dict[str, Any]:
        done = self.run(project_dir, "config", "--format", "json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def reference() -> Reference:
    binary = reference_binary()
    assert binary, "the reference docker-compose binary is required for @pytest.mark.reference tests"
    return Reference(binary)


Loader = Callable[[str], dict[str, Any]]


def load(project_dir: Path, text: str, *, check: bool = True) -> dict[str, Any]:
    """Our stages on one file: parse, interpolate, schema, unicity (as a merge does), normalize, check."""
    path = project_dir / "compose.yaml"
    path.write_text(text)
    doc = parse_documents(text, str(path))[0]
    data = interpolate(doc.data, ENV, doc.marks)
    validate_schema(data, doc.marks, str(path))
    data = enforce_unicity(data)
    name = normalize_project_name(str(data.get("name") or project_dir.name))
    canonical = normalize(data, NormalizeContext(name, str(project_dir), ENV, doc.marks))
    if check:
        check_consistency(canonical, doc.marks)
    return canonical


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "proj"
    directory.mkdir()
    return directory


@pytest.fixture
def ours(project_dir: Path) -> Loader:
    return lambda text: json_view(load(project_dir, text))
