"""What a project command starts from: the loaded project, the engine, and a snapshot of what exists.

s = open_session(options)                       # loads the project (errors are one line) and connects
observed = s.observe(image_refs=...)            # composer.observe over s.engine.reader
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from composer.client import Engine, connect
from composer.observe import Observed, observe
from composer.spec import ProjectMeta, image_ref

if TYPE_CHECKING:
    from composer.cli.options import GlobalOptions
    from composer.loader.pipeline import LoadedProject
    from composer.model import Project


@dataclass(frozen=True)
class Session:
    options: GlobalOptions
    loaded: LoadedProject
    engine: Engine

    @property
    def project(self) -> Project:
        return self.loaded.project

    @property
    def name(self) -> str:
        return self.loaded.project.name

    @property
    def known_services(self) -> frozenset[str]:
        """Every service of the file, those disabled by profiles included (they are not orphans)."""
        return frozenset((*self.project.services, *self.loaded.disabled_services))

    @property
    def meta(self) -> ProjectMeta:
        return ProjectMeta(
            working_dir=self.loaded.working_dir,
            config_files=self.loaded.config_files,
            environment=self.loaded.environment,
        )

    @property
    def injected_digests(self) -> dict[str, str]:
        """service -> digest of the secret/config contents written into its containers (filerefs)."""
        from composer.filerefs import content_digest

        env = self.loaded.environment
        return {n: d for n, s in self.project.services.items() if (d := content_digest(self.project, s, env))}

    def observe(self, services: Iterable[str] | None = None) -> Observed:
        names = list(self.project.services) if services is None else list(services)
        refs = [image_ref(self.project, self.project.services[n]) for n in names]
        from composer.model import service_config_hash

        externals = [n.name for n in self.project.networks.values() if n.external]
        hashes = {n: service_config_hash(self.project, n) for n in names}
        from dataclasses import replace
        from types import MappingProxyType

        from composer.buildcontext import context_digests

        snapshot = observe(
            self.engine.reader, self.name, image_refs=refs, external_networks=externals, wanted_hashes=hashes
        )
        contexts = {
            n: context_digests(svc.build.context)
            for n in names
            if (svc := self.project.services[n]).build is not None
        }
        return replace(snapshot, contexts=MappingProxyType(contexts))


def open_session(options: GlobalOptions, services: tuple[str, ...] = ()) -> Session:
    """services: load only these and their dependencies, enabling them whatever their profiles (`run`)."""
    from composer.cli.project import load

    loaded = load(options, services=services)
    return Session(options, loaded, connect(options))
