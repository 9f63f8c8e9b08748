"""`logging.getLogger(__name__)` for the modules every everyday command imports, without importing
`logging` (~3 ms of a ~50 ms `ps`) until a record could be shown.

While nothing has imported `logging`, nothing can have configured it either: the root logger is at its
default WARNING level and drops debug and info records, so those are dropped here without the import.
Once `logging` is imported (`--debug`, or a program using composer's Python API), every call goes to the
real logger. Warnings and errors always do (Python's last-resort handler prints them).
"""

from __future__ import annotations

import sys

from composer._typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


class Logger:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def _logger(self) -> Any:
        import logging

        return logging.getLogger(self.name)

    def debug(self, msg: str, *args: Any, **kwargs: Any) -> None:
        if "logging" in sys.modules:
            self._logger().debug(msg, *args, **kwargs)

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None:
        if "logging" in sys.modules:
            self._logger().info(msg, *args, **kwargs)

    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._logger().warning(msg, *args, **kwargs)

    def error(self, msg: str, *args: Any, **kwargs: Any) -> None:
        self._logger().error(msg, *args, **kwargs)


def get_logger(name: str) -> Logger:
    return Logger(name)
