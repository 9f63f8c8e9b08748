"""Registry-specific error kinds on top of engine.errors."""

from __future__ import annotations

from engine.errors import EngineError, SystemError_


class Unauthorized(EngineError):
    """Credentials missing or rejected (Docker answers 401 on `POST /auth` and pulls that need a login)."""

    status = 401


class Cancelled(EngineError):
    """The caller gave up (an API client went away); partial downloads were discarded."""

    status = 499


class DigestMismatch(SystemError_):
    """Content from a registry did not hash to the digest it was asked for; nothing was stored."""
