"""Who gets traffic: the members of a share group behind one published port or one service name.

A share group is a Compose service: containers with the same `com.docker.compose.project` and
`com.docker.compose.service` labels. Its members may publish the same fixed host port (engine.network.ports;
dockerd refuses the second), and new connections are spread over the members that are *ready*: running,
healthy if they have a healthcheck, and not draining (being stopped). A member that is not ready gets no new
connections and is left out of the service name's DNS answers while another member is ready; when none is
ready, all get traffic, as a lone container does in Docker whatever its health. This is what lets
`composer up` start a new container beside the old one, switch to it once healthy, and drain the old one
(composer.rollout).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"

Readiness = Callable[[str], bool]  # container id -> ready for new connections


def share_group(config: Mapping[str, Any]) -> str | None:
    """The group a container's published ports and service name are shared within (None: not shared)."""
    labels = config.get("Labels") or {}
    project, service = labels.get(PROJECT_LABEL), labels.get(SERVICE_LABEL)
    if not project or not service or labels.get("com.docker.compose.oneoff") == "True":
        return None
    return f"{project}/{service}"


def in_rotation(members: Iterable[str], ready: Readiness) -> list[str]:
    """The members that get new connections: the ready ones, or every one when none is ready."""
    members = list(members)
    chosen = [m for m in members if ready(m)]
    return chosen or members
