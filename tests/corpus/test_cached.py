"""A project taken from composer.projectcache prints exactly what a full load prints: every corpus case that
loads, run twice (the second run a cache hit), in its JSON and YAML forms (test_corpus compares the first
with the reference)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from composer import projectcache
from composer.loader.loaded import LoadedProject, LoadOptions
from tests.corpus.corpus import Case, Outcome, all_cases

CASES = [c for c in all_cases() if c.expect != "invalid"]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_cached_project_prints_the_same(
    case: Case, run_ours: Callable[..., Outcome], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(projectcache, "cache_dir", lambda environ: str(tmp_path / "cache"))
    monkeypatch.setattr(projectcache, "_SETTLE_NS", 0)  # the checkout's files may be seconds old
    loads: list[LoadOptions] = []
    full_load = projectcache._load

    def counted(opts: LoadOptions) -> LoadedProject:
        loads.append(opts)
        return full_load(opts)

    monkeypatch.setattr(projectcache, "_load", counted)

    def run(argv: list[str], *, cached: bool) -> Outcome:
        monkeypatch.setattr(projectcache, "enabled", lambda environ: cached)
        return run_ours(case, argv)

    for argv in (case.argv, case.yaml_argv) if case.has_yaml_twin else (case.argv,):
        want = run(argv, cached=False)
        run(argv, cached=True)  # a miss (or a hit of the previous format's entry), stored
        before = len(loads)
        got = run(argv, cached=True)
        assert len(loads) == before, "the files were loaded again"
        assert (got.exit_code, got.stdout) == (want.exit_code, want.stdout)
        assert got.stderr == want.stderr  # the warnings too
