"""Stacks left behind by a killed test run, found and removed without a helper container.

A project brought up for a test (the pytest plugin, `Project.load(..., reap_orphaned=True)`) labels its
containers, networks and volumes with their owner: host name, pid and the process's start time (so a
reused pid is not mistaken for the owner). At the next start, every project whose owner on this host is
gone is taken down with its volumes, as `down -v --remove-orphans -p NAME` would. (testcontainers does
this with its Ryuk container, which watches a socket; here the label is the record and the next run is the
watcher.)
"""

from __future__ import annotations

import logging
import os
import socket
from typing import TYPE_CHECKING

from composer import labels as L

if TYPE_CHECKING:
    from composer.client import Engine

log = logging.getLogger(__name__)


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22); None when gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def owner_label(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}/{pid}/{_start_time(pid) or '?'}"


def is_orphaned(owner: str) -> bool:
    """True when the owner ran on this host and is gone (another host's owner cannot be checked)."""
    host, _, rest = owner.partition("/")
    pid, _, started = rest.partition("/")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return _start_time(int(pid)) != started


def orphaned_projects(engine: Engine) -> list[str]:
    from composer.client import engine_errors

    owned = {"label": [L.OWNER]}
    with engine_errors("listing the objects of test projects"):
        items = [
            *engine.reader.containers(all=True, filters=owned),
            *(engine.reader.networks(filters=owned) or []),
            *(engine.reader.volumes(filters=owned).get("Volumes") or []),
        ]
    owners: dict[str, str] = {}
    for item in items:
        labels = item.get("Labels") or {}
        if L.PROJECT in labels:
            owners.setdefault(labels[L.PROJECT], labels.get(L.OWNER, ""))
    return sorted(name for name, owner in owners.items() if is_orphaned(owner))


def reap(engine: Engine) -> list[str]:
    """Take down every project whose owner is gone; returns their names."""
    from composer.execute import Context, execute
    from composer.observe import observe
    from composer.progress import Progress
    from composer.reconcile import DownOptions, plan_down

    names = orphaned_projects(engine)
    for name in names:
        snapshot = observe(engine.reader, name)
        plan = plan_down(None, snapshot, DownOptions(remove_orphans=True, volumes=True))
        log.info("reaping project=%s operations=%d", name, len(plan.operations))
        execute(plan, Context(api=engine.client, project=None, progress=Progress("quiet")))
    return names
