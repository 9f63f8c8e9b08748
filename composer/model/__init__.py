"""The typed project model: frozen dataclasses built once from the canonical dict.

`Project.from_dict(canonical)` and `Project.to_dict()` round-trip exactly (same keys, same order), so
the model can be printed or hashed without keeping the dict around. `service_config_hash` matches
Compose's `com.docker.compose.config-hash`.
"""

from __future__ import annotations

from composer.model.frozen import FrozenMap, freeze, thaw
from composer.model.parts import (
    BuildSpec,
    DependsOn,
    FileRef,
    Healthcheck,
    Mount,
    PortMapping,
    ServiceNetwork,
)
from composer.model.project import (
    Config,
    Network,
    Project,
    Resource,
    Secret,
    Volume,
    go_json,
    service_config_hash,
)
from composer.model.service import Service

__all__ = [
    "BuildSpec",
    "Config",
    "Network",
    "Secret",
    "Volume",
    "DependsOn",
    "FileRef",
    "FrozenMap",
    "Healthcheck",
    "Mount",
    "PortMapping",
    "Project",
    "Resource",
    "Service",
    "ServiceNetwork",
    "freeze",
    "go_json",
    "service_config_hash",
    "thaw",
]
