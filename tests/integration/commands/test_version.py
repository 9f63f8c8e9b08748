"""`composer version`: pretty, --short and json forms (no engine needed)."""

from __future__ import annotations

import json
import subprocess
import sys

from composer import __version__


def _composer(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "composer.cli.main", *args], capture_output=True, text=True, timeout=30
    )


def test_version_forms() -> None:
    assert _composer("version").stdout == f"composer version {__version__}\n"
    assert _composer("version", "--short").stdout == f"{__version__}\n"
    assert json.loads(_composer("version", "--format", "json").stdout) == {"version": __version__}
    bad = _composer("version", "--format", "xml")
    assert (bad.returncode, bad.stderr) == (
        1,
        "unsupported format 'xml': use pretty, json or a Go template such as {{.Version}}\n",
    )
    assert _composer("version", "--format", "v{{.Version}}").stdout == f"v{__version__}\n"
    assert _composer("version", "--format", "{{json .}}").stdout == f'{{"version":"{__version__}"}}\n'
    broken = _composer("version", "--format", "{{.Version")
    assert (broken.returncode, broken.stderr) == (
        1,
        "template parsing error: template: :1: unclosed action\n",
    )
