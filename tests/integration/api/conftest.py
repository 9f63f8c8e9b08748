"""Fixtures for the engine API tests: one private engine per module, containers removed after each test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.engine import EngineProcess, running_engine


@pytest.fixture(scope="module")
def module_engine() -> Iterator[EngineProcess]:
    if os.geteuid() != 0:
        pytest.skip("needs root; CI runs as root")
    with running_engine() as eng:
        # these suites test containers, not networking: no bridge/veth setup on every start
        eng.run_host_config = {"NetworkMode": "none"}
        yield eng


@pytest.fixture
def engine(module_engine: EngineProcess) -> Iterator[EngineProcess]:
    """The module's engine; every container a test made is force-removed afterwards."""
    yield module_engine
    module_engine.remove_all_containers()
