"""The project's containers for the commands that act on existing ones (logs, exec, top, kill ...).

A thin selection over `composer.observe.list_containers` (one listing by Compose's labels): only some
services, only running ones, sorted as `docker compose` shows them; plus the log-prefix name.
"""

from __future__ import annotations

from collections.abc import Iterable

from composer._log import get_logger
from composer._typecheck import TYPE_CHECKING
from composer.observe import ObservedContainer, container_from_summary
from composer.observe import list_containers as observe_containers

if TYPE_CHECKING:
    from typing import Any

log = get_logger(__name__)

# The commands' name for one container of the project (the reconciler's snapshot type).
ProjectContainer = ObservedContainer

__all__ = ["ProjectContainer", "container_from_summary", "display_name", "list_containers"]


def list_containers(
    api: Any,
    project: str,
    services: Iterable[str] = (),
    *,
    all: bool = False,
    oneoff: bool | None = False,
) -> list[ProjectContainer]:
    """The project's containers (running, restarting or paused unless `all`, as `docker ps` without -a),
    optionally only some services; `oneoff` None means both kinds. Sorted by service, number, name."""
    wanted = set(services)
    found = observe_containers(api, project, oneoff=oneoff)
    chosen = [c for c in found if (not wanted or c.service in wanted) and (all or c.running)]
    log.debug("listed project=%s found=%d chosen=%d", project, len(found), len(chosen))
    return sorted(chosen, key=lambda c: (c.service, c.number, c.name))


def display_name(container: ProjectContainer, project: str) -> str:
    """The name `docker compose` prefixes log lines with: the container name without `project-`."""
    prefix = f"{project}-"
    return container.name[len(prefix) :] if container.name.startswith(prefix) else container.name
