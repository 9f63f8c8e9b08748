"""Fixtures for the loader performance work: the Compose documents our tests and examples hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from composer.errors import ConfigError
from composer.loader.yamlsrc import parse_documents, read_file, strip_tags

ROOT = Path(__file__).resolve().parents[3]
_SOURCES = (ROOT / "tests" / "corpus" / "cases", ROOT / "examples")


def compose_documents() -> list[tuple[str, dict[str, Any]]]:
    """Every parseable YAML mapping under the corpus cases and the examples (valid or not)."""
    found: list[tuple[str, dict[str, Any]]] = []
    for base in _SOURCES:
        for path in sorted(base.rglob("*.y*ml")):
            if path.name == "case.yaml":
                continue
            try:
                docs = parse_documents(read_file(str(path)), str(path))
            except ConfigError:
                continue
            found += [(str(path.relative_to(ROOT)), strip_tags(doc.data)) for doc in docs]
    return found


@pytest.fixture(scope="session")
def documents() -> list[tuple[str, dict[str, Any]]]:
    docs = compose_documents()
    assert len(docs) > 100  # the corpus is there: a vacuous pass would prove nothing
    return docs
