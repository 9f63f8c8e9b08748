from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from composer.cli.main import main
from tests.corpus.corpus import Case, Outcome, case_environ


@pytest.fixture
def run_ours(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    """Run a case through our CLI in-process, with exactly the case's environment and working directory."""

    def run(case: Case, argv: list[str] | None = None) -> Outcome:
        env = case_environ(case)
        for key in list(os.environ):
            monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(case.workdir)
        capsys.readouterr()
        code = main(case.argv if argv is None else argv, environ=env)
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run
