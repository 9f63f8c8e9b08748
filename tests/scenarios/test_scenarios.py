"""Every scenario of tests/scenarios/ in each of its modes (see scenario.py for the format and the modes):
composer on a private embedded engine, and the reference Compose v2 binary on a private dockerd, both held to
the same expectations. SCENARIO_MODES=all adds composer on dockerd and the reference on our engine;
SCENARIO_MODES=composer-engine (comma-separated) narrows the run."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scenarios.scenario import MODES, Run, Scenario, all_scenarios
from tests.support.engine import EngineProcess, running_engine
from tests.support.parity import dockerd_loaded
from tests.support.reference import reference_binary

pytestmark = [pytest.mark.root, pytest.mark.e2e]

BIP, POOL = "10.241.0.1/24", "base=10.242.0.0/16,size=24"
SCENARIOS = all_scenarios()


def _selected(scenario: Scenario) -> list[str]:
    wanted = os.environ.get("SCENARIO_MODES", "")
    if wanted == "all":
        return list(MODES)
    if wanted:
        return [m for m in wanted.split(",") if m in MODES]
    return list(scenario.modes)


CASES = [(s, mode) for s in SCENARIOS for mode in _selected(s)]


@pytest.fixture(scope="module")
def engine() -> Iterator[EngineProcess]:
    with running_engine() as eng:
        yield eng


@pytest.fixture(scope="module")
def dockerd_host(engine: EngineProcess) -> Iterator[str]:
    if shutil.which("dockerd") is None:
        pytest.skip("dockerd is not installed")
    with dockerd_loaded(engine, bip=BIP, pool=POOL) as host:
        yield host


def test_there_are_many_scenarios() -> None:
    assert len(SCENARIOS) >= 40, [s.name for s in SCENARIOS]
    assert len({s.project for s in SCENARIOS}) == len(SCENARIOS), "project names must differ"


@pytest.mark.parametrize(("scenario", "mode"), CASES, ids=[f"{s.name}-{m}" for s, m in CASES])
def test_scenario(
    scenario: Scenario, mode: str, engine: EngineProcess, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    which, _, where = mode.partition("-")
    if which == "reference" and reference_binary() is None:
        pytest.skip("the reference binary is not installed")
    host = engine.docker_host if where == "engine" else str(request.getfixturevalue("dockerd_host"))
    problems = Run(scenario, which, host, tmp_path)()
    assert problems == [], f"{scenario.name} ({scenario.description}) under {mode}:\n" + "\n".join(problems)
