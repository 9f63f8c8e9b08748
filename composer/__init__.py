"""composer: a declarative multi-container tool (the client side).

`from composer import Project` is the Python API (`composer.api`); it is imported on first use so the
CLI's start stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# dataclasses' generated methods compiled once, not at every start (see composer._codecache)
from composer._codecache import install as _install_code_cache  # noqa: E402

_install_code_cache()

if TYPE_CHECKING:
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
        from composer import api

        return getattr(api, name)
    raise AttributeError(f"module 'composer' has no attribute {name!r}")
