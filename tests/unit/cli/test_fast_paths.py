"""What keeps the everyday commands fast is also behaviour: which modules a command imports, and that the
shortcuts (summaries read from source) say the same as the modules themselves. Timings live in bench/."""

from __future__ import annotations

import subprocess
import sys

import pytest

from composer.cli import commands


@pytest.mark.parametrize("name", commands.names())
def test_listing_read_from_source_matches_the_module(name: str) -> None:
    from_source = commands.listing(name)
    module = commands.load(name)
    assert from_source is not None and module is not None
    assert from_source.summary == commands.summary(module)
    assert from_source.supports_dry_run == bool(getattr(module, "SUPPORTS_DRY_RUN", False))


_REPORT_MODULES = """
import sys
from composer.cli.main import main
code = main(sys.argv[1:])
sys.stderr.write("\\n".join(sorted(sys.modules)))
sys.exit(code)
"""


def _imported(*args: str) -> set[str]:
    """Modules loaded by one run of `composer ARGS` in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-c", _REPORT_MODULES, *args], capture_output=True, text=True, check=True
    )
    return set(proc.stderr.splitlines())


def test_help_and_version_import_no_command_but_their_own() -> None:
    assert not [m for m in _imported("--help") if m.startswith("composer.cli.commands.")]
    assert [m for m in _imported("version") if m.startswith("composer.cli.commands.")] == [
        "composer.cli.commands.version"
    ]
