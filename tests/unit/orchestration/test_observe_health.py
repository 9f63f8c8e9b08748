"""Health read from the engine's status text, in the reconciler's snapshot and in `ps --format json`."""

from __future__ import annotations

import pytest

from composer.cli.commands.ps import _record
from composer.observe import container_from_summary

CASES = [
    ("Up 3 seconds (healthy)", "healthy"),
    ("Up 3 seconds (unhealthy)", "unhealthy"),
    ("Up 1 second (health: starting)", "starting"),
    ("Up 3 seconds", ""),
]


@pytest.mark.parametrize(("status", "health"), CASES)
def test_health_from_status(status: str, health: str) -> None:
    item = {"Id": "c1", "Names": ["/p-web-1"], "State": "running", "Status": status, "Labels": {}}
    assert (container_from_summary(item).health or "") == health
    assert _record(item, "p", no_trunc=False).fields["Health"] == health
