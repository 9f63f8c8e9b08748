"""Keeping parallel uses of one project apart, and cleaning up after killed ones: engine-chosen host
ports, owner labels, and the reaping of stacks whose owner is gone."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from composer import labels as L
from composer.options import GlobalOptions

if TYPE_CHECKING:
    from composer.loader.loaded import LoadedProject


def ephemeral_ports(loaded: LoadedProject) -> LoadedProject:
    """Every published port on an engine-chosen host port (`"8080:80"` becomes `"80"`); ranges too."""
    services = {
        name: replace(svc, ports=tuple(replace(p, published=None) for p in svc.ports))
        for name, svc in loaded.project.services.items()
    }
    project = replace(loaded.project, services=MappingProxyType(services))
    return replace(loaded, built=project)


def owned_by(loaded: LoadedProject, owner: str) -> LoadedProject:
    """Every container, network and volume the project creates labelled with its owner, for
    `composer.reaper` (a run killed half-way leaves some of them only)."""

    def label(things: Mapping[str, Any], *, resources: bool) -> MappingProxyType[str, Any]:
        return MappingProxyType(
            {
                key: thing
                if resources and thing.external
                else replace(thing, labels=MappingProxyType({**thing.labels, L.OWNER: owner}))
                for key, thing in things.items()
            }
        )

    project = replace(
        loaded.project,
        services=label(loaded.project.services, resources=False),
        networks=label(loaded.project.networks, resources=True),
        volumes=label(loaded.project.volumes, resources=True),
    )
    return replace(loaded, built=project)


def reap_orphaned(host: str | None = None, env: Mapping[str, str] | None = None) -> list[str]:
    """Take down the stacks of dead owners (see `composer.reaper`) on the engine `host` (as Project.load
    selects it); returns the names of the projects removed."""
    from composer.reaper import reap
    from composer.session import connect

    engine = connect(GlobalOptions(host=host, environ={**os.environ, **(env or {})}))
    try:
        return reap(engine)
    finally:
        engine.close()
