"""A private engine per module for the Python API and pytest-plugin tests (DOCKER_HOST points at it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.engine import EngineProcess, running_engine


@pytest.fixture(scope="module")
def library_engine() -> Iterator[EngineProcess]:
    with running_engine() as eng:
        yield eng


@pytest.fixture
def engine_env(library_engine: EngineProcess, monkeypatch: pytest.MonkeyPatch) -> EngineProcess:
    """DOCKER_HOST of the private engine for this test (as users select an engine for the API)."""
    monkeypatch.setenv("DOCKER_HOST", library_engine.docker_host)
    for name in ("COMPOSE_FILE", "COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES"):
        monkeypatch.delenv(name, raising=False)
    return library_engine
