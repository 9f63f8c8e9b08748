"""Registry-specific error kinds on top of engine.errors."""

from __future__ import annotations

from engine import errors
from engine.errors import SystemError_


class Unauthorized(errors.Unauthorized):
    """Credentials missing or rejected (Docker answers 401 on `POST /auth` and pulls that need a login)."""


class Cancelled(errors.Cancelled):
    """The caller gave up (an API client went away); partial downloads were discarded."""


class DigestMismatch(SystemError_):
    """Content from a registry did not hash to the digest it was asked for; nothing was stored."""
