"""Helpers for the pure orchestration tests: real projects through the real loader, snapshots by hand."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType

import pytest

from composer import labels as L
from composer.loader.pipeline import LoadOptions, load_project
from composer.model import Project, service_config_hash
from composer.observe import Observed, ObservedContainer, ObservedNetwork, ObservedVolume

IMAGE_ID = "sha256:" + "b" * 64


@pytest.fixture
def load(tmp_path: Path) -> Callable[[str], Project]:
    def _load(text: str) -> Project:
        path = tmp_path / "compose.yaml"
        path.write_text(text)
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
        loaded = load_project(LoadOptions(files=(str(path),), environ=env, working_dir=str(tmp_path)))
        return loaded.project

    return _load


def container(
    project: Project,
    service: str,
    number: int = 1,
    *,
    state: str = "running",
    status: str = "Up 1 second",
    config_hash: str | None = None,
    image_id: str = IMAGE_ID,
    oneoff: bool = False,
) -> ObservedContainer:
    """What observe() would report for a container composer made for `service` (hash current by default)."""
    known = service in project.services
    digest = (
        config_hash if config_hash is not None else (service_config_hash(project, service) if known else "x")
    )
    labels = {
        L.PROJECT: project.name,
        L.SERVICE: service,
        L.CONTAINER_NUMBER: str(number),
        L.ONEOFF: L.TRUE if oneoff else L.FALSE,
        L.CONFIG_HASH: digest,
    }
    if known:
        labels[L.DEPENDS_ON] = ",".join(
            f"{d}:{c.condition}:false" for d, c in project.services[service].depends_on.items()
        )
    return ObservedContainer(
        id=f"id-{service}-{number}",
        name=f"{project.name}-{service}-{number}",
        service=service,
        number=number,
        state=state,
        status=status,
        image="busybox:latest",
        image_id=image_id,
        config_hash=digest,
        oneoff=oneoff,
        labels=MappingProxyType(labels),
    )


def snapshot(
    project: Project,
    containers: list[ObservedContainer] | tuple[ObservedContainer, ...] = (),
    *,
    networks: bool = True,
    existing_resources: bool = True,
    images: dict[str, str | None] | None = None,
) -> Observed:
    nets = (
        {n.name: ObservedNetwork("nid", n.name, k) for k, n in project.networks.items() if existing_resources}
        if networks
        else None
    )
    vols = (
        {v.name: ObservedVolume(v.name, k) for k, v in project.volumes.items()} if existing_resources else {}
    )
    refs = images if images is not None else {"busybox:latest": IMAGE_ID}
    return Observed(
        project.name,
        tuple(containers),
        MappingProxyType(nets) if nets is not None else None,
        MappingProxyType(vols),
        MappingProxyType(refs),
    )
