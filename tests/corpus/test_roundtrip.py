"""Our `config` output is itself a Compose file: loading it again gives the same model."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from tests.corpus.corpus import Case, Outcome, all_cases, differences

CASES = [c for c in all_cases() if c.has_yaml_twin and not any(a.startswith("--no-") for a in c.command)]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_yaml_output_loads_back_to_the_same_model(
    case: Case, run_ours: Callable[..., Outcome], tmp_path: Path
) -> None:
    first = run_ours(case)
    assert first.exit_code == 0, first.stderr
    yaml_out = run_ours(case, case.yaml_argv)
    assert yaml_out.exit_code == 0, yaml_out.stderr
    (tmp_path / "compose.yaml").write_text(yaml_out.stdout)
    # every service in the output was enabled; the profiles that enabled them are not part of the file
    argv = ["--profile", "*", "-f", "compose.yaml", "config", "--format", "json"]
    again = run_ours(replace(case, cwd=tmp_path), argv)
    assert again.exit_code == 0, again.stderr
    want, got = json.loads(first.stdout), json.loads(again.stdout)
    assert got == want, "\n".join(differences(got, want))
