"""`up --wait`: block until every selected service is running (and healthy when it has a healthcheck).
A one-shot container that exited 0 counts as done; a non-zero exit or an unhealthy container fails."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from composer import labels as L
from composer.client import engine_errors
from composer.errors import ComposerError
from composer.progress import Progress
from composer.wakeups import Wakeups

if TYPE_CHECKING:
    from composer.session import Session


def container_ready(name: str, state: dict[str, object]) -> bool:
    """True when ready, False to keep waiting; raises when it can no longer become ready."""
    status = state.get("Status")
    health = (state.get("Health") or {}).get("Status")  # type: ignore[attr-defined]
    if status in ("exited", "dead"):
        code = int(state.get("ExitCode") or 0)  # type: ignore[call-overload]
        if code != 0:
            raise ComposerError(f"container {name} exited ({code})")
        return True
    if health == "unhealthy":
        raise ComposerError(f"container {name} is unhealthy")
    return status == "running" and health in (None, "healthy")


def wait_project(session: Session, services: Iterable[str], timeout: int | None, progress: Progress) -> None:
    wanted = set(services) or set(session.project.services)
    deadline = None if timeout is None else time.monotonic() + timeout
    api = session.engine.client
    with Wakeups(api, L.project_filter(session.name)) as wake:
        _wait(session, api, wanted, deadline, progress, wake)


def _wait(
    session: Session,
    api: Any,
    wanted: set[str],
    deadline: float | None,
    progress: Progress,
    wake: Wakeups,
) -> None:
    """Check the containers; between checks, sleep until the engine reports an event."""
    pending: set[str] = set()
    while True:
        with engine_errors(f"listing the containers of project {session.name}"):
            found = api.containers(all=True, filters=L.project_filter(session.name))
        pending = set()
        for item in found:
            if (item.get("Labels") or {}).get(L.SERVICE) not in wanted:
                continue
            name = str(item["Names"][0]).lstrip("/")
            with engine_errors(f"inspecting container {name}"):
                state = api.inspect_container(item["Id"])["State"]
            if container_ready(name, state):
                word = "Exited" if state.get("Status") in ("exited", "dead") else "Running"
                progress.event("Container", name, "Healthy" if state.get("Health") else word)
            else:
                pending.add(name)
                progress.event("Container", name, "Waiting")
        if not pending:
            return
        if deadline is not None and time.monotonic() > deadline:
            raise ComposerError(f"timeout waiting for {', '.join(sorted(pending))} to be running|healthy")
        wake.wait()
