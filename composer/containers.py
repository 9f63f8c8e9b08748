"""The project's containers as the engine reports them, found by Compose's labels.

A read-only view for the commands that act on existing containers (logs, exec, top, kill ...). The
reconciler has its own, richer snapshot; this one is a plain listing, sorted as `docker compose` shows it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from composer.labels import CONTAINER_NUMBER as NUMBER
from composer.labels import ONEOFF, PROJECT, SERVICE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProjectContainer:
    id: str
    name: str  # without the leading "/"
    service: str
    number: int
    oneoff: bool
    state: str  # created, running, paused, restarting, exited, dead
    image: str
    image_id: str
    labels: Mapping[str, str]
    ports: tuple[Mapping[str, Any], ...] = ()

    @property
    def running(self) -> bool:
        return self.state in ("running", "restarting")

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> ProjectContainer:
        """One entry of GET /containers/json."""
        labels = summary.get("Labels") or {}
        names = summary.get("Names") or [""]
        try:
            number = int(labels.get(NUMBER, "0") or 0)
        except ValueError:
            number = 0
        return cls(
            id=str(summary["Id"]),
            name=str(names[0]).lstrip("/"),
            service=str(labels.get(SERVICE, "")),
            number=number,
            oneoff=str(labels.get(ONEOFF, "False")).lower() == "true",
            state=str(summary.get("State", "")),
            image=str(summary.get("Image", "")),
            image_id=str(summary.get("ImageID", "")),
            labels=dict(labels),
            ports=tuple(summary.get("Ports") or ()),
        )


def list_containers(
    api: Any,
    project: str,
    services: Iterable[str] = (),
    *,
    all: bool = False,
    oneoff: bool | None = False,
) -> list[ProjectContainer]:
    """The project's containers (running only unless `all`), optionally only some services; `oneoff`
    None means both kinds. Sorted by service, then container number, then name."""
    wanted = set(services)
    filters = [f"{PROJECT}={project}"]
    if oneoff is not None:
        filters.append(f"{ONEOFF}={'True' if oneoff else 'False'}")
    found = [ProjectContainer.from_summary(s) for s in api.containers(all=all, filters={"label": filters})]
    chosen = [c for c in found if not wanted or c.service in wanted]
    log.debug("listed project=%s found=%d chosen=%d", project, len(found), len(chosen))
    return sorted(chosen, key=lambda c: (c.service, c.number, c.name))


def display_name(container: ProjectContainer, project: str) -> str:
    """The name `docker compose` prefixes log lines with: the container name without `project-`."""
    prefix = f"{project}-"
    return container.name[len(prefix) :] if container.name.startswith(prefix) else container.name
