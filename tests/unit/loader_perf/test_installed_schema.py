"""A built (non-editable) package carries the schema and validates with it, away from the repository."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _build(tmp_path: Path) -> Path:
    """setup.py's build_py, run on a copy of the sources so the checkout gets no build files."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("composer", "engine", "schemas"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    lib = tmp_path / "lib"
    subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(lib)],
        cwd=source,
        check=True,
        capture_output=True,
    )
    return lib


def test_built_package_has_the_schema_and_uses_it(tmp_path: Path) -> None:
    lib = _build(tmp_path)
    packaged = lib / "composer" / "loader" / "schemas" / "compose-spec.json"
    assert packaged.read_bytes() == (ROOT / "schemas" / "compose-spec.json").read_bytes()
    project = tmp_path / "project"
    project.mkdir()
    (project / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n    portz: [80]\n")
    probe = (
        "import composer, sys\n"
        "from composer.loader import schema_file\n"
        "print(composer.__file__); print(schema_file.SCHEMA_PATH)\n"
        "from composer.cli.main import main\n"
        "sys.exit(main(['config']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=project,
        env={"PYTHONPATH": str(lib), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    where, schema = proc.stdout.splitlines()[:2]
    assert where.startswith(str(lib)) and schema == str(packaged)
    assert proc.returncode != 0
    assert "additional properties 'portz' not allowed" in proc.stderr
