from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from composer.cli.main import main


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run `composer ARGS` in-process and capture what a user would see."""

    def run(*args: str, environ: dict[str, str] | None = None) -> Result:
        capsys.readouterr()
        code = main(list(args), environ=environ if environ is not None else {"PATH": "/usr/bin:/bin"})
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


# The corpus' in-process runner (clean environment, case working directory) serves the example tests too.
from tests.corpus.conftest import run_ours  # noqa: E402,F401
