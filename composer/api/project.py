"""`Project`: a loaded Compose project bound to an engine (see the package docstring)."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from composer import labels as L
from composer.api import isolation
from composer.api.results import Container, ExecResult, LogLine, PortBinding, PublishedPort
from composer.client import engine_errors
from composer.errors import ComposerError
from composer.options import GlobalOptions, UsageError

if TYPE_CHECKING:
    from composer.loader.loaded import LoadedProject
    from composer.model import Project as Model
    from composer.session import Session
    from composer.watch.watcher import Watcher


log = logging.getLogger(__name__)


def _reachable(host_ip: str | None) -> str:
    """A host address a client on this machine can connect to (a wildcard bind means loopback)."""
    if not host_ip or host_ip in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return host_ip


class Project:
    """A loaded Compose project bound to an engine. Make one with `Project.load`."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._watchers: list[Watcher] = []

    # --- loading --------------------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        path_or_files: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
        project_name: str | None = None,
        profiles: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        *,
        env_files: Sequence[str] = (),
        host: str | None = None,
        ephemeral_ports: bool = False,
        reap_orphaned: bool = False,
        name_tag: str | None = None,
    ) -> Project:
        """Load and validate a project, then connect to its engine.

        `path_or_files`: a project directory (its compose.yaml is found as the CLI finds it), one file, or
        several files merged in order; None: discovered from the current directory. `project_name`: used
        as given; None: the project's own name plus a random suffix (unique per use). `env`: variables
        for interpolation and `.env` lookups, on top of os.environ. `host`: an Engine API endpoint
        (as -H); else DOCKER_HOST, else the embedded engine. `ephemeral_ports`: publish every port on a
        host port the engine chooses. `reap_orphaned`: label the containers with this process as their
        owner so a later run removes the stack if this process dies without taking it down
        (`composer.reaper`). `name_tag`: put in the generated name before the random suffix (the pytest
        plugin uses the xdist worker's id). Raises ConfigError with the file, line and key of a bad
        project file."""
        from composer.session import Session, connect, load

        files: tuple[str, ...] = ()
        directory: str | None = None
        if isinstance(path_or_files, (str, os.PathLike)):
            path = Path(path_or_files)
            if path.is_dir():
                directory = str(path.resolve())
            else:
                files = (str(path),)
        elif path_or_files is not None:
            files = tuple(str(p) for p in path_or_files)
        environ = {**os.environ, **(env or {})}
        options = GlobalOptions(
            files=files,
            project_directory=directory,
            project_name=project_name,
            env_files=tuple(env_files),
            profiles=tuple(profiles),
            progress="quiet",
            host=host,
            environ=environ,
        )
        if project_name is None:
            base = load(options, warn=None).name
            tag = f"{name_tag}-" if name_tag else ""
            options = replace(options, project_name=f"{base}-{tag}{secrets.token_hex(4)}")
        adjustments = []
        if ephemeral_ports:
            adjustments.append(isolation.ephemeral_ports)
        if reap_orphaned:
            from composer.reaper import owner_label

            owner = owner_label()
            adjustments.append(lambda loaded: isolation.owned_by(loaded, owner))

        def adjust(loaded: LoadedProject) -> LoadedProject:
            for step in adjustments:
                loaded = step(loaded)
            return loaded

        loaded = adjust(load(options, warn=log.warning))
        session = Session(options, loaded, connect(options), adjust if adjustments else None)
        return cls(session)

    # --- what it is -------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._session.name

    @property
    def model(self) -> Model:
        """The typed, normalized project (composer.model.Project)."""
        return self._session.project

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(self._session.project.services)

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the loader warned about (the CLI prints these on stderr)."""
        return self._session.loaded.warnings

    # --- lifecycle ----------------------------------------------------------------------------------------

    def up(
        self,
        services: Sequence[str] = (),
        *,
        wait: bool = True,
        build: bool | None = None,
        pull: str | None = None,
        timeout: float | None = 120.0,
        force_recreate: bool = False,
        remove_orphans: bool = False,
    ) -> list[Container]:
        """`up -d` (`--wait` when `wait`: every selected service running, and healthy when it has a
        healthcheck, within `timeout` seconds). `build`: True always builds, False never, None builds
        what is missing. Returns the project's containers."""
        from composer.bringup import bring_up
        from composer.progress import Progress
        from composer.reconcile import UpOptions

        self._session.check_services(services)
        options = UpOptions(
            services=tuple(services),
            build="always" if build else "never" if build is False else "auto",
            pull=pull,
            force_recreate=force_recreate,
            remove_orphans=remove_orphans,
        )
        wait_timeout = None if timeout is None else max(1, round(timeout))
        bring_up(self._session, options, progress=Progress("quiet"), wait=wait, wait_timeout=wait_timeout)
        return self.ps()

    def down(self, *, volumes: bool = True, remove_orphans: bool = True, timeout: int | None = None) -> None:
        """`down` (with `-v` and `--remove-orphans` by default: a test leaves nothing behind)."""
        from composer.execute import Context, execute
        from composer.progress import Progress
        from composer.reconcile import DownOptions, plan_down

        self.stop_watching()
        s = self._session
        plan = plan_down(
            s.project,
            s.observe([]),
            DownOptions(
                remove_orphans=remove_orphans,
                volumes=volumes,
                timeout=timeout,
                known_services=s.known_services,
            ),
        )
        if plan:
            execute(plan, Context(api=s.engine.client, project=s.project, progress=Progress("quiet")))
        self.close()

    def close(self) -> None:
        """Close the connections to the engine (`down` does; the project can still be used after)."""
        self._session.engine.close()

    def __enter__(self) -> Project:
        try:
            self.up()
        except BaseException:
            self.down()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.down()

    # --- looking at it --------------------------------------------------------------------------------

    def ps(self, services: Sequence[str] = (), *, all: bool = True) -> list[Container]:
        """The project's containers (`ps -a` by default), sorted by service and number."""
        from composer.observe import container_from_summary

        s = self._session
        s.check_services(services)
        with engine_errors(f"listing the containers of project {s.name}"):
            items = s.engine.reader.containers(all=True, filters=L.project_filter(s.name, oneoff=None))
        found = []
        for item in items:
            c = container_from_summary(item)
            if (services and c.service not in services) or (not all and not c.running):
                continue
            ports = tuple(
                PublishedPort(
                    private_port=int(p.get("PrivatePort") or 0),
                    protocol=str(p.get("Type") or "tcp"),
                    host_ip=p.get("IP") if p.get("PublicPort") else None,
                    host_port=int(p["PublicPort"]) if p.get("PublicPort") else None,
                )
                for p in item.get("Ports") or []
            )
            found.append(
                Container(
                    id=c.id,
                    name=c.name,
                    service=c.service,
                    number=c.number,
                    state=c.state,
                    health=c.health,
                    exit_code=c.exit_code,
                    oneoff=c.oneoff,
                    ports=ports,
                )
            )
        return sorted(found, key=lambda c: (c.service, c.oneoff, c.number, c.name))

    def logs(
        self, service: str | None = None, *, follow: bool = False, tail: int | None = None
    ) -> Iterator[LogLine]:
        """The log lines of a service's containers (all services when None), in time order. `follow`
        keeps reading until every followed container has stopped (or the iterator is closed)."""
        from composer.logs import merged_history, read_lines

        s = self._session
        services = [service] if service else []
        containers = s.containers(services, all=True)
        by_name = {c.name: c for c in containers}

        def line(raw: Any) -> LogLine:
            c = by_name.get(f"{s.name}-{raw.name}") or by_name.get(raw.name)
            return LogLine(c.service if c else "", c.name if c else raw.name, raw.text)

        if not follow:
            with engine_errors():
                history = merged_history(s.api, containers, s.name, tail=tail)
            yield from (line(raw) for raw in history)
            return
        from composer.client import make_api

        api = make_api(s.engine.host, s.engine.environ)
        api.timeout = None  # a followed log blocks as long as its container runs
        lines: queue.Queue[Any] = queue.Queue()
        done = object()
        streams: list[Any] = []

        def pump(container: Any) -> None:
            try:
                for raw in read_lines(api, container, s.name, follow=True, tail=tail, stream_holder=streams):
                    lines.put(raw)
            except Exception as exc:  # the engine went away mid-stream: end this container's log
                log.debug("log stream ended container=%s error=%s", container.name, exc)
            finally:
                lines.put(done)

        threads = [threading.Thread(target=pump, args=(c,), daemon=True) for c in containers]
        for t in threads:
            t.start()
        open_streams = len(threads)
        try:
            while open_streams:
                item = lines.get()
                if item is done:
                    open_streams -= 1
                    continue
                yield line(item)
        finally:
            for stream in streams:
                close = getattr(stream, "close", None)
                if close is not None:
                    with contextlib.suppress(Exception):  # closing a finished stream: nothing to do
                        close()
            api.close()

    def container(self, service: str, index: int = 1) -> Container:
        """The running container `index` of a service (as `exec --index`)."""
        found = self._session.container(service, index)
        return next(c for c in self.ps([service]) if c.id == found.id)

    def port(self, service: str, private_port: int, protocol: str = "tcp", *, index: int = 1) -> PortBinding:
        """Where a container port is published on the host (`port SERVICE PRIVATE_PORT`); the host is an
        address a local client can connect to (a wildcard bind is reported as 127.0.0.1)."""
        s = self._session
        if protocol not in ("tcp", "udp", "sctp"):
            raise UsageError(f"invalid --protocol value {protocol!r}: use tcp or udp")
        if not 0 < int(private_port) < 65536:
            raise UsageError(f"invalid port {private_port!r}: expected a number from 1 to 65535")
        container = s.container(service, index)
        with engine_errors():
            info = s.engine.reader.inspect_container(container.id)
        ports = (info.get("NetworkSettings") or {}).get("Ports") or {}
        bindings = ports.get(f"{private_port}/{protocol}") or []
        if not bindings:
            raise ComposerError(f"no port {private_port}/{protocol} for container {container.name}")
        first = bindings[0]
        return PortBinding(_reachable(first.get("HostIp")), int(first.get("HostPort")))

    def service_url(self, service: str, port: int, scheme: str = "http", *, path: str = "") -> str:
        """`scheme://host:port` of a service's published port (plus `path`)."""
        host, host_port = self.port(service, port)
        return f"{scheme}://{host}:{host_port}{path}"

    # --- acting inside it -----------------------------------------------------------------------------

    def exec(
        self,
        service: str,
        cmd: str | Sequence[str],
        *,
        index: int = 1,
        env: Mapping[str, str] | None = None,
        user: str | None = None,
        workdir: str | None = None,
    ) -> ExecResult:
        """Run a command in a running container of the service (`exec -T`); a string is run by `sh -c`."""
        s = self._session
        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        container = s.container(service, index)
        with engine_errors():
            exec_id = s.api.exec_create(
                container.id,
                argv,
                stdout=True,
                stderr=True,
                user=user or "",
                environment=[f"{k}={v}" for k, v in (env or {}).items()],
                workdir=workdir,
            )["Id"]
            output = s.api.exec_start(exec_id)
            code = s.api.exec_inspect(exec_id).get("ExitCode")
        return ExecResult(int(code or 0), output.decode(errors="replace"))

    def run(
        self,
        service: str,
        cmd: str | Sequence[str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        user: str | None = None,
        workdir: str | None = None,
        entrypoint: str | None = None,
        no_deps: bool = False,
        remove: bool = True,
    ) -> ExecResult:
        """A one-off container of the service (`run -T [--rm]`), its dependencies started first; waits
        for it to exit and returns its exit code and output."""
        from composer.oneoff import OneOff, container_body, create, inject, prepare

        s = self._session
        s.check_services([service])
        if service not in s.project.services:
            raise UsageError(f"no such service: {service}")
        command: tuple[str, ...] = ()
        if isinstance(cmd, str):
            command = ("sh", "-c", cmd)
        elif cmd is not None:
            command = tuple(cmd)
        oneoff = OneOff(
            command=command,
            entrypoint=entrypoint,
            env=tuple(f"{k}={v}" for k, v in (env or {}).items()),
            user=user,
            workdir=workdir,
            detach=True,
            no_deps=no_deps,
        )
        prepare(s, service, oneoff)
        body = container_body(s, service, oneoff)
        name = f"{s.name}-{service}-run-{secrets.token_hex(6)}"
        api = s.api
        cid = create(s, service, name, body, warn=log.warning)
        try:
            inject(s, service, name, cid)
            with engine_errors(f"running container {name}"):
                api.start(cid)
                code = int(api.wait(cid)["StatusCode"])
                output = api.logs(cid, stdout=True, stderr=True)
        finally:
            if remove:
                with engine_errors(f"removing container {name}"):
                    api.remove_container(cid, force=True, v=True)
        return ExecResult(code, output.decode(errors="replace"))

    # --- readiness ------------------------------------------------------------------------------------

    def wait_healthy(self, services: Sequence[str] = (), *, timeout: float = 60.0) -> None:
        """Until the services are running, and healthy when they have a healthcheck (`up --wait`)."""
        from composer.progress import Progress
        from composer.waiting import wait_project

        self._session.check_services(services)
        wait_project(self._session, services, max(1, round(timeout)), Progress("quiet"))

    def wait_for_port(self, service: str, port: int, *, protocol: str = "tcp", timeout: float = 30.0) -> None:
        """Until the service's published `port` accepts TCP connections from this host."""
        from composer.readiness import wait_for_port

        host, host_port = self.port(service, port, protocol)
        wait_for_port(host, host_port, timeout=timeout)

    def wait_for_http(
        self, service: str, port: int, path: str = "/", *, status: int = 200, timeout: float = 30.0
    ) -> str:
        """Until GET on the service's published `port` answers `status`; returns the URL."""
        from composer.readiness import wait_for_http

        url = self.service_url(service, port, path=path)
        wait_for_http(url, status=status, timeout=timeout)
        return url

    def wait_for_log(self, service: str, pattern: str, *, timeout: float = 30.0) -> str:
        """Until a line of the service's logs matches `pattern` (a regular expression); returns it."""
        from composer.readiness import wait_for_log

        self._session.check_services([service])
        return wait_for_log(
            lambda: (ln.text for ln in self.logs(service)),
            pattern,
            what=f"the logs of service {service}",
            timeout=timeout,
        )

    # --- watching ----------------------------------------------------------------------------------------

    def watch(
        self, services: Sequence[str] = (), *, on_event: Callable[[str], None] | None = None
    ) -> Watcher:
        """Start `watch` on the services' `develop.watch` rules (in background threads); `on_event` gets
        each one-line message. Stops on `down()`, or call `.stop()` on the returned watcher."""
        from composer.watch.watcher import Watcher, watched_services

        s = self._session
        s.check_services(services)
        if not watched_services(s, services):
            raise ComposerError("none of the selected services has a develop.watch section: nothing to watch")
        say = on_event or (lambda text: log.info("watch: %s", text))
        watcher = Watcher(s, services, say, reapply=True)
        watcher.start()
        self._watchers.append(watcher)
        return watcher

    def stop_watching(self) -> None:
        while self._watchers:
            self._watchers.pop().stop()

    def __repr__(self) -> str:
        return f"Project({self.name!r}, services={list(self.services)!r})"
