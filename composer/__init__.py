"""composer: a declarative multi-container tool (the client side).

`from composer import Project` is the Python API (`composer.api`); it is imported on first use so the
CLI's start stays light.
"""

from __future__ import annotations

__version__ = "0.1.0"

from composer._typecheck import TYPE_CHECKING  # `version` and `--help` answer without importing typing

if TYPE_CHECKING:
    from typing import Any

    from composer.api import Container, ExecResult, LogLine, PortBinding, Project, PublishedPort
    from composer.errors import ComposerError, ConfigError

__all__ = [
    "ComposerError",
    "ConfigError",
    "Container",
    "ExecResult",
    "LogLine",
    "PortBinding",
    "Project",
    "PublishedPort",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in __all__ and name != "__version__":
        from composer._codecache import install as install_code_cache

        install_code_cache()  # before the API's dataclasses are made
        from composer import api

        return getattr(api, name)
    raise AttributeError(f"module 'composer' has no attribute {name!r}")
