"""Every corpus case through our CLI, compared with the reference docker-compose (live when installed,
else the recorded expected.json). A case where we differ fails; that list is the loader's to-do list."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.corpus.corpus import (
    Case,
    Outcome,
    all_cases,
    comparable,
    differences,
    placeholders,
    reference_binary,
    reference_yaml,
    run_reference,
    stored,
)

CASES = all_cases()
REFERENCE = reference_binary()


def _expected(case: Case) -> dict[str, Any]:
    if REFERENCE is not None:
        return comparable(case, run_reference(case, REFERENCE))
    return {k: v for k, v in stored(case).items() if k in ("status", "output")}


def _key_orders(value: Any, path: str = "") -> dict[str, list[str]]:
    """Key order of every mapping in a YAML document, by path, to compare text layout with the reference."""
    orders: dict[str, list[str]] = {}
    if isinstance(value, dict):
        orders[path] = [str(k) for k in value]
        for k, v in value.items():
            orders.update(_key_orders(v, f"{path}.{k}"))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            orders.update(_key_orders(v, f"{path}[{i}]"))
    return orders


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case, run_ours: Callable[[Case], Outcome]) -> None:
    expected = _expected(case)
    assert expected["status"] == case.expect, f"reference no longer agrees with case.yaml: {expected}"
    ours = run_ours(case)
    got = comparable(case, ours) if ours.exit_code == 0 or ours.stdout == "" else None
    assert got is not None, f"exit {ours.exit_code} with output: {ours.stdout[:300]}"
    assert got["status"] == expected["status"], f"exit {ours.exit_code}; stderr: {ours.stderr.strip()}"
    if case.expect == "invalid":
        assert case.error and re.search(case.error, ours.stderr), (
            f"stderr {ours.stderr!r} lacks /{case.error}/"
        )
        lines = ours.stderr.splitlines()
        assert len(lines) == 1 + len(case.warnings), f"error must be one line after the warnings: {lines!r}"
        for pattern, line in zip(case.warnings, lines, strict=False):
            assert re.search(pattern, line), f"warning {line!r} lacks /{pattern}/"
        if case.location:
            assert re.search(re.escape(case.location) + r"(?!\d)", ours.stderr), (
                f"stderr {ours.stderr!r} does not locate the error at {case.location}"
            )
        return
    assert got["output"] == expected["output"], "\n".join(differences(got["output"], expected["output"]))
    if case.output_format == "yaml":
        assert _key_orders(got["output"]) == _key_orders(expected["output"])


def test_corpus_is_broad() -> None:
    assert len(CASES) >= 60
    assert sum(c.expect == "invalid" for c in CASES) >= 15


YAML_CASES = [c for c in CASES if c.has_yaml_twin]


@pytest.mark.parametrize("case", YAML_CASES, ids=[c.name for c in YAML_CASES])
def test_case_yaml_text(case: Case, run_ours: Callable[..., Outcome]) -> None:
    """Default (YAML) output: same data and key order as the reference, and the same text."""
    import yaml

    want = reference_yaml(case, REFERENCE) if REFERENCE else case.expected_yaml_path.read_text()
    ours = run_ours(case, case.yaml_argv)
    assert ours.exit_code == 0, ours.stderr
    got = placeholders(ours.stdout, case)
    got_data, want_data = yaml.safe_load(got), yaml.safe_load(want)
    assert got_data == want_data, "\n".join(differences(got_data, want_data))
    assert _key_orders(got_data) == _key_orders(want_data)
    assert got == want


def test_exit_codes_equal_the_reference(run_ours: Callable[..., Outcome]) -> None:
    """Beyond ok/invalid: the exact exit status, as scripts test it (the reference exits 1 on any error)."""
    mismatched = []
    for case in CASES:
        want = run_reference(case, REFERENCE).exit_code if REFERENCE else stored(case)["exit_code"]
        got = run_ours(case).exit_code
        if got != want:
            mismatched.append(f"{case.name}: ours {got}, reference {want}")
    assert not mismatched, "\n".join(mismatched)
