"""The route table: every (method, path) belongs to one group, and no group is optional."""

from __future__ import annotations

import pytest

from engine.api import app, distribution, images


def test_each_route_has_one_owner() -> None:
    routes = app.collect_routes()
    keys = [(m, p) for m, p, _ in routes]
    assert len(keys) == len(set(keys))
    owners = {(m, p): h.__module__ for m, p, h in routes}
    # pulling and importing share one route: distribution's, which hands fromSrc imports to images
    assert owners[("POST", "/images/create")] == "engine.api.distribution"
    assert ("POST", "/images/create") not in {(m, p) for m, p, _ in images.routes()}


def test_a_route_claimed_twice_fails_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "GROUPS", (*app.GROUPS, distribution))
    with pytest.raises(RuntimeError, match="POST /images/create is routed by engine.api.distribution and"):
        app.collect_routes()
