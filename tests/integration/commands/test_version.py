"""`composer version`: pretty, --short and json forms (no engine needed)."""

from __future__ import annotations

import subprocess
import sys

from composer import __version__


def _composer(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "composer.cli.main", *args], capture_output=True, text=True, timeout=30
    )


def test_version_forms() -> None:
    # the forms of Docker Compose 2.40.3: "Docker Compose version v2.40.3", "2.40.3", {"version":"v2.40.3"}
    assert _composer("version").stdout == f"composer version v{__version__}\n"
    assert _composer("--version").stdout == f"composer version v{__version__}\n"
    assert _composer("-v").stdout == f"composer version v{__version__}\n"
    assert _composer("version", "--short").stdout == f"{__version__}\n"
    assert _composer("version", "--format", "json").stdout == f'{{"version":"v{__version__}"}}\n'
    assert _composer("version", "-f", "json").stdout == f'{{"version":"v{__version__}"}}\n'
    other = _composer("version", "--format", "xml")  # Compose prints the pretty form, status 0
    assert (other.returncode, other.stdout) == (0, f"composer version v{__version__}\n")
    # and a Go template over the json's field
    assert _composer("version", "--format", "{{.Version}}").stdout == f"v{__version__}\n"
    assert _composer("version", "--format", "{{json .}}").stdout == f'{{"version":"v{__version__}"}}\n'
    broken = _composer("version", "--format", "{{.Version")
    assert (broken.returncode, broken.stderr) == (
        1,
        "template parsing error: template: :1: unclosed action\n",
    )
