"""The engine's error kinds carry no HTTP; engine.api.errors.STATUS is the one table from kind to status."""

from __future__ import annotations

import pytest

from engine import errors
from engine.api.errors import STATUS, status_of
from engine.build.executor import BuildError
from engine.images.tarsafe import UnsafeArchive
from engine.registry.errors import Cancelled, DigestMismatch, Unauthorized


def test_kinds_know_no_status() -> None:
    kinds = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, errors.EngineError)]
    for kind in kinds:
        assert all("status" not in vars(k) for k in kind.__mro__), kind
    # every kind the engine defines directly is in the table; refinements answer as their kind
    assert {k for k in kinds if k.__bases__ == (errors.EngineError,)} | {errors.EngineError} == set(STATUS)


@pytest.mark.parametrize(
    ("err", "status"),
    [
        (errors.NotFound("no such container"), 404),
        (errors.Conflict("in use"), 409),
        (errors.InvalidParameter("bad"), 400),
        (errors.NotModified("already started"), 304),
        (errors.Forbidden("no"), 403),
        (errors.Unavailable("later"), 503),
        (errors.SystemError_("disk"), 500),
        (errors.EngineError("unclassified"), 500),
        # subclasses answer with their nearest listed ancestor's status
        (Unauthorized("login"), 401),
        (Cancelled("gone"), 499),
        (DigestMismatch("sha256:..."), 500),
        (UnsafeArchive("../etc"), 400),
        (BuildError("step failed", code=3), 500),
    ],
)
def test_status_of_kind(err: errors.EngineError, status: int) -> None:
    assert status_of(err) == status
