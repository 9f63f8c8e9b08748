"""Engine errors classified by kind, after moby's errdefs.

Domain services raise these; the HTTP layer maps each kind to a status code in one table
(`engine.api.errors`), and nothing else in the engine knows about HTTP.
"""

from __future__ import annotations


class EngineError(Exception):
    """Base of every engine error; `status` is the HTTP status the API answers with."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(EngineError):
    status = 404


class Conflict(EngineError):
    status = 409


class InvalidParameter(EngineError):
    status = 400


class NotModified(EngineError):
    status = 304


class Forbidden(EngineError):
    status = 403


class Unavailable(EngineError):
    status = 503


class SystemError_(EngineError):
    """An unexpected failure of the host (a syscall, the disk)."""

    status = 500


class ProcessStartFailed(InvalidParameter):
    """A process could not be executed in its container; `exit_code` is the shell's: 127 not found,
    126 found but not executable."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code
