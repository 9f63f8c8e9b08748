"""What every project command starts from: the loaded project, the engine, and a snapshot of what exists.
The CLI's commands, `watch` and the Python API (`composer.api`) all open one of these.

s = open_session(options)                       # loads the project (errors are one line) and connects
s.check_services(["web"])                       # "no such service: ..." as docker compose words it
observed = s.observe()                          # composer.observe over s.engine.reader
with engine_errors():                           # composer.client: API failures become one line
    s.api.kill(s.container("web", None).id)
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from composer._log import get_logger
from composer._typecheck import TYPE_CHECKING
from composer.client import Engine, EngineUnreachable, engine_errors, ping
from composer.options import GlobalOptions, UsageError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from composer.containers import ProjectContainer
    from composer.lite import Client
    from composer.loader.loaded import LoadedProject
    from composer.model import Project
    from composer.observe import Observed
    from composer.spec import ProjectMeta


def resolve_host(
    option: str | None, environ: Mapping[str, str], context: str | None = None
) -> tuple[str, bool]:
    """(host, is_embedded_default)."""
    host, embedded, _ = resolve_endpoint(option, context, environ)
    return host, embedded


def resolve_endpoint(
    option: str | None, context: str | None, environ: Mapping[str, str]
) -> tuple[str, bool, Mapping[str, str]]:
    """(host, is_embedded_default, environ with the selected context's TLS settings)."""
    if not context and (option or environ.get("DOCKER_HOST", "").strip()):
        return option or environ["DOCKER_HOST"].strip(), False, environ  # no context file to read
    from composer.dockercli import contexts

    name = contexts.selected_name(context, option, environ)
    if name is None:
        return option or environ["DOCKER_HOST"].strip(), False, environ
    from composer.embedded import places

    embedded = places(environ).host
    if name != contexts.DEFAULT:
        endpoint = contexts.read(name, environ)  # `composer engine context` names the embedded one
        return endpoint.host, endpoint.host == embedded, {**environ, **endpoint.tls_environ()}
    return embedded, True, environ


def connect(options: GlobalOptions, *, start_embedded: bool = True, streaming: bool = False) -> Engine:
    """The engine for this invocation; starts the embedded one when it is the target and not running."""
    host, embedded, environ = resolve_endpoint(options.host, options.context, options.environ)
    if embedded and start_embedded and not ping(host, environ):
        from composer.embedded import start_embedded_engine

        start_embedded_engine(announce=True, environ=environ)
    elif not embedded and not ping(host, environ, timeout=5):
        raise EngineUnreachable(
            f"cannot connect to the engine at {host}",
            hint="is it running? check -H / DOCKER_HOST / --context",
        )
    get_logger(__name__).debug("connecting host=%s embedded=%s", host, embedded)
    return Engine(host=host, embedded=embedded, environ=environ, streaming=streaming)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection for a while: loading and printing a large project allocates many
    small objects and no cycles worth collecting, and the collector's passes cost ~10% of the run."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _print_warning(message: str) -> None:
    from composer.presenter import warn

    warn(message)


def load(
    options: GlobalOptions,
    *,
    services: Sequence[str] = (),
    interpolate: bool = True,
    warn: Callable[[str], None] | None = _print_warning,
) -> LoadedProject:
    """Load and validate the project; each warning goes to `warn` once (stderr by default; also those
    found before a failure, as the reference prints them), errors raise ConfigError."""
    from composer import projectcache
    from composer.errors import ConfigError
    from composer.loader.loaded import LoadOptions

    environ = dict(options.environ)
    # A shell exports PWD; the reference supplies it when the caller did not, and files use ${PWD}.
    environ.setdefault("PWD", os.getcwd())
    with paused_gc():
        try:
            loaded = projectcache.load(
                LoadOptions(
                    files=options.files,
                    project_directory=options.project_directory,
                    project_name=options.project_name,
                    env_files=options.env_files,
                    profiles=options.profiles,
                    interpolate=interpolate,
                    environ=environ,
                    services=tuple(services),
                    working_dir=os.getcwd(),
                )
            )
        except ConfigError as exc:
            if warn is not None:
                for message in exc.warnings:
                    warn(message)
            raise
    if warn is not None:
        for message in loaded.warnings:
            warn(message)
    return loaded


@dataclass(frozen=True)
class Session:
    """A loaded project and the engine it runs on."""

    options: GlobalOptions
    loaded: LoadedProject
    engine: Engine
    # applied to every load of this session (the Python API's test isolation: ephemeral host ports...)
    adjust: Callable[[LoadedProject], LoadedProject] | None = None

    @property
    def project(self) -> Project:
        return self.loaded.project

    @property
    def name(self) -> str:
        return self.loaded.name

    @property
    def api(self) -> Client:
        """The engine's client (composer.lite)."""
        return self.engine.api

    @property
    def known_services(self) -> frozenset[str]:
        """Every service of the file, those disabled by profiles included (they are not orphans)."""
        return frozenset((*(self.loaded.canonical.get("services") or {}), *self.loaded.disabled_services))

    @property
    def meta(self) -> ProjectMeta:
        from composer.spec import ProjectMeta

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

    def reloaded(self) -> Session:
        """The same selection loaded again from the files (watch re-applies an edited project file)."""
        loaded = load(self.options)
        return Session(self.options, self.adjust(loaded) if self.adjust else loaded, self.engine, self.adjust)

    def check_services(self, services: Iterable[str]) -> None:
        """Named services must be in the file; those disabled by profiles count (as docker compose: only
        the first unknown one is named)."""
        _check_services(self.known_services, services)

    def containers(
        self,
        services: Sequence[str] = (),
        *,
        all: bool = False,
        oneoff: bool | None = False,
        check: bool = True,
    ) -> list[ProjectContainer]:
        from composer.containers import list_containers

        if check:
            self.check_services(services)
        with engine_errors():
            return list_containers(self.api, self.name, services, all=all, oneoff=oneoff)

    def container(self, service: str, index: int | None, *, check: bool = True) -> ProjectContainer:
        """One running container of a service: `--index` N, else the first (as `docker compose exec`).
        check=False: an unknown service is just "not running" (attach, commit, export, as Compose)."""
        from composer.errors import ComposerError

        found = self.containers([service], check=check)
        if not found:
            raise ComposerError(f'service "{service}" is not running')
        if index is not None:
            found = [c for c in found if c.number == index]
            if not found:
                raise ComposerError(f'service "{service}" is not running container #{index}')
        return found[0]

    def observe(self, services: Iterable[str] | None = None) -> Observed:
        from dataclasses import replace
        from types import MappingProxyType

        from composer.buildcontext import context_digests
        from composer.model import service_config_hash
        from composer.observe import observe
        from composer.spec import image_ref

        names = list(self.project.services) if services is None else list(services)
        refs = [image_ref(self.project, self.project.services[n]) for n in names]
        externals = [n.name for n in self.project.networks.values() if n.external]
        hashes = {n: service_config_hash(self.project, n) for n in names}
        snapshot = observe(
            self.engine.reader, self.name, image_refs=refs, external_networks=externals, wanted_hashes=hashes
        )
        contexts = {
            n: context_digests(svc.build.context)
            for n in names
            if (svc := self.project.services[n]).build is not None
        }
        return replace(snapshot, contexts=MappingProxyType(contexts))


def _check_services(known: Iterable[str], services: Iterable[str]) -> None:
    known = set(known)
    unknown = [s for s in services if s not in known]
    if unknown:
        raise UsageError(f"no such service: {unknown[0]}")


def open_session(
    options: GlobalOptions,
    services: Sequence[str] = (),
    *,
    load_only: Sequence[str] = (),
    streaming: bool = False,
    warn: Callable[[str], None] | None = _print_warning,
) -> Session:
    """Load the project, check the named services, connect to the engine (starting the embedded one when
    it is the target); `load_only`: load only these services and their dependencies, enabling them
    whatever their profiles (`run`); `streaming` for commands whose calls block for long."""
    loaded = load(options, services=load_only, warn=warn)
    _check_services({*(loaded.canonical.get("services") or {}), *loaded.disabled_services}, services)
    return Session(options, loaded, connect(options, streaming=streaming))
