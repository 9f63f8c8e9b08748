"""Engine errors classified by kind, after moby's errdefs.

Domain services raise these; the HTTP layer maps each kind to a status code in one table
(`engine.api.errors.STATUS`), and nothing else in the engine knows about HTTP.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base of every engine error: an unclassified one is the engine's own fault."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(EngineError):
    pass


class Conflict(EngineError):
    pass


class InvalidParameter(EngineError):
    pass


class NotModified(EngineError):
    pass


class Unauthorized(EngineError):
    """Credentials missing or rejected (a registry login, a pull that needs one)."""


class Forbidden(EngineError):
    pass


class Unavailable(EngineError):
    pass


class Cancelled(EngineError):
    """The caller gave up (an API client went away) and the work was stopped."""


class SystemError_(EngineError):
    """An unexpected failure of the host (a syscall, the disk)."""
