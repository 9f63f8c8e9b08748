"""composer-engine: the composition root. Parses flags and config, takes the pidfile lock, builds every store
and service (images, volumes, networks, runtimes, containers, execs, events; the registry client and the
builder on their first use) and hands them to the HTTP app, serves the sockets, and shuts down cleanly on
SIGTERM/SIGINT (containers keep running: they belong to their monitors, not to us). Nothing else in the
engine constructs a service."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, TYPE_CHECKING, Generic, TypeVar

from engine import preflight, remote
from engine.api import web
from engine.api.app import make_app
from engine.api.backends import Backends
from engine.config import ConfigError, DaemonConfig, parse
from engine.containers.archive_procs import SERVER as ARCHIVE_SERVER
from engine.containers.execs import ExecService
from engine.containers.service import ContainerService
from engine.containers.store import ContainerStore
from engine.errors import EngineError, InvalidParameter
from engine.events import EventBus
from engine.images.store import ImageStore
from engine.kernel import syscalls
from engine.network.service import NetworkService
from engine.runtime import native
from engine.system import SystemService
from engine.systemd import ActivationError, activated_sockets, notify
from engine.util.atomic import atomic_write_bytes
from engine.volumes.store import VolumeStore

if TYPE_CHECKING:
    from engine.build.executor import Builder
    from engine.containers.userns import Remapper
    from engine.registry import RegistryClient
    from engine.runtime import Runtime

log = logging.getLogger(__name__)

SOCKET_MODE = 0o660
WORKER_THREADS = 64

T = TypeVar("T")


class AlreadyRunning(Exception):
    pass


def _lock(path: Path) -> IO[str]:
    """Hold an exclusive flock on `path` for the daemon's life; the kernel drops it even after kill -9."""
    path.parent.mkdir(parents=True, exist_ok=True)
    f = open(path, "a+")  # noqa: SIM115 - held open (and locked) for the daemon's whole life
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        pid = f.read().strip() or "?"
        f.close()
        raise AlreadyRunning(f"another engine (pid {pid}) holds {path}") from None
    f.seek(0)
    f.truncate()
    f.write(f"{os.getpid()}\n")
    f.flush()
    return f


def _engine_id(data_root: Path) -> str:
    path = data_root / "engine-id"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        raw = secrets.token_hex(16).upper()
        ident = ":".join(raw[i : i + 4] for i in range(0, 32, 4))
        atomic_write_bytes(path, ident.encode())
        return ident


class Runtimes:
    """One engine.runtime.Runtime per configured runtime name, made on first use."""

    def __init__(self, cfg: DaemonConfig) -> None:
        self._cfg = cfg
        self._made: dict[str, Runtime] = {}

    def close(self) -> None:
        for rt in self._made.values():
            rt.close()  # stops the zygote; containers and monitors keep running

    def __call__(self, name: str) -> Runtime:
        if name not in self._made:
            from engine.runtime import Runtime  # loaded on the first container start

            try:
                binary = self._cfg.runtime_binary(name)
            except ConfigError as e:
                raise InvalidParameter(str(e)) from None
            self._made[name] = Runtime(
                self._cfg.exec_root, binary
            )  # it keeps its state in <exec-root>/runtime
        return self._made[name]


class OnFirstUse(Generic[T]):
    """One T, made by `make` on the first call and kept: what the idle daemon need not load."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._made: T | None = None
        self._lock = threading.Lock()

    def __call__(self) -> T:
        with self._lock:
            if self._made is None:
                self._made = self._make()
            return self._made


class Engine:
    """The running daemon: built by `__init__`, served by `serve`."""

    def __init__(self, cfg: DaemonConfig) -> None:
        self.cfg = cfg
        self.events = EventBus()
        self.images = ImageStore(cfg.data_root / "images")
        self.volumes = VolumeStore(cfg.data_root / "volumes")
        self.runtimes = Runtimes(cfg)
        # bridges, endpoints, ports and the embedded DNS (engine.network); used by the container lifecycle
        self.networks = NetworkService(cfg.data_root, cfg.exec_root, default_ipv6=cfg.fixed_cidr_v6)
        self.containers = ContainerService(
            store=ContainerStore(cfg.data_root / "containers"),
            images=self.images,
            volumes=self.volumes,
            runtime_for=self.runtimes,
            events=self.events,
            default_runtime=cfg.default_runtime,
            log_opts=dict(cfg.log_opts),
            log_driver=cfg.log_driver,
            networks=self.networks,
            userns=_remapper(cfg),
        )
        self.registry = OnFirstUse(self._registry_client)
        self.builder = OnFirstUse(self._builder)
        self.backends = Backends(
            config=cfg,
            events=self.events,
            containers=self.containers,
            execs=ExecService(self.containers.core),
            images=self.images,
            volumes=self.volumes,
            networks=self.networks,
            system=SystemService(
                self.images, self.containers.store, self.volumes, self.containers.volume_users
            ),
            registry=self.registry,
            builder=self.builder,
            engine_id=_engine_id(cfg.data_root),
            started_at=time.time(),
        )
        self.app = make_app(self.backends)
        self._recover_build()

    def _registry_client(self) -> RegistryClient:
        """The registry client with the daemon's registry-mirrors, insecure-registries and a staging dir."""
        from engine.registry import RegistryClient, RegistryOptions

        options = RegistryOptions.from_daemon_config(
            {
                "registry-mirrors": list(self.cfg.registry_mirrors),
                "insecure-registries": list(self.cfg.insecure_registries),
            }
        )
        staging = Path(self.cfg.data_root) / "registry-staging"
        staging.mkdir(parents=True, exist_ok=True)
        return RegistryClient(self.images, options, staging_dir=staging)

    def _builder(self) -> Builder:
        from engine.build.executor import Builder

        return Builder(self.images, self.containers, self.registry(), self.cfg.data_root / "build")

    def _recover_build(self) -> None:
        """Let the builder drop what a build cut short by a crash left behind. The builder (without a
        registry client) is loaded only when there is something to drop: unpacked contexts, build-* layers."""
        root, rw_root = self.cfg.data_root / "build", self.images.root / "rw"
        if (root / "contexts").exists() or (rw_root.is_dir() and any(rw_root.glob("build-*"))):
            from engine.build.executor import Builder

            Builder(self.images, self.containers, None, root).recover()

    def _prepare_monitor(self) -> None:
        with contextlib.suppress(native.Unavailable):  # logged once; each start fails with the reason
            native.monitors(self.cfg.exec_root / "native").program()

    async def serve(self, stop: asyncio.Event, activated: Sequence[socket.socket] = ()) -> None:
        # a wrong socket group or TLS file ends the start before any work begins (its one-line error
        # alone, not after the monitor's build log from the worker thread below)
        gid = remote.socket_group(self.cfg.group, self.cfg.group_explicit)
        tls = remote.tls_context(self.cfg.tls) if self.cfg.tls is not None else None
        # the container monitor is found or built (in a worker thread) before any container starts,
        # restored ones included: every start waits for it
        asyncio.get_running_loop().run_in_executor(None, self._prepare_monitor)
        self.events.bind_loop(asyncio.get_running_loop())
        self.networks.dns.bind_loop(asyncio.get_running_loop())
        # before containers are restored: release what dead containers held, reopen the living's DNS
        await asyncio.to_thread(self.networks.reconcile)
        await self.containers.restore()
        server = web.Server(self.app)
        paths = self.cfg.socket_paths()
        try:
            for path in paths:
                path.parent.mkdir(parents=True, exist_ok=True)
                # a dead daemon's stale socket is replaced: we hold the lock, so it is ours
                await server.listen_unix(str(path), SOCKET_MODE)
                remote.hand_to_group(path, gid)
                log.info("listening socket=%s group=%s", path, gid if gid is not None else "root")
            for host, port in self.cfg.tcp_addresses():
                await server.listen_tcp(host, port, ssl=tls)
                if tls is None:
                    log.warning(
                        "listening on tcp without TLS or authentication address=%s port=%d", host, port
                    )
                else:
                    verify = self.cfg.tls is not None and self.cfg.tls.verify
                    log.info(
                        "listening on tcp with TLS address=%s port=%d client_certs=%s", host, port, verify
                    )
            for sock in activated:
                await server.listen_socket(sock, ssl=tls)  # TLS applies to activated tcp sockets too
                log.info("listening on an activated socket address=%s", sock.getsockname())
            self.events.publish("daemon", "start", self.backends.engine_id, {"name": os.uname().nodename})
            notify("READY=1")  # Type=notify: containers are restored and every socket is served
            await stop.wait()
        finally:
            notify("STOPPING=1")
            log.info("shutting down; containers keep running")
            await self.containers.shutdown()
            await server.close()
            self.networks.close()  # kernel state stays for the running containers and the next start
            self.runtimes.close()
            ARCHIVE_SERVER.close()  # the warm archive helper server, when a `docker cp` or sync started it
            for path in paths:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()


def _remapper(cfg: DaemonConfig) -> Remapper | None:
    """--userns-remap: the ids containers run as (ConfigError when the user has no subordinate ranges)."""
    if not cfg.userns_remap:
        return None
    from engine.containers.userns import Remapper, load

    remap = load(cfg.userns_remap)
    log.info("user namespaces remapped user=%s uids=%d+%d", remap.user, remap.uid_start, remap.uid_count)
    return Remapper(remap, cfg.exec_root)


def _setup_logging(debug: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _handle_signals(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    """SIGTERM/SIGINT stop the daemon: plain handlers, not loop.add_signal_handler. That one relays signals
    through a wakeup fd a forked child inherits (a helper the daemon forks may get SIGTERM), so a signal
    meant for the child would stop the daemon; here a forked child dies as it would by default."""
    daemon_pid = os.getpid()

    def stopped(signum: int) -> None:
        log.info("signal received signal=%s", signal.Signals(signum).name)
        stop.set()

    def handler(signum: int, _frame: object) -> None:
        if os.getpid() != daemon_pid:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        loop.call_soon_threadsafe(stopped, signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)


async def _run(cfg: DaemonConfig, activated: Sequence[socket.socket]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # blocking runtime and disk work runs in threads; the default pool (cpus + 4) would serialize a
    # compose project's parallel starts on a small machine
    loop.set_default_executor(ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="engine"))
    _handle_signals(loop, stop)
    engine = Engine(cfg)
    await engine.serve(stop, activated)


def main(argv: Sequence[str] | None = None) -> int:
    syscalls.one_malloc_arena()  # first: before any thread is started
    try:
        cfg = parse(sys.argv[1:] if argv is None else argv)
    except ConfigError as e:
        print(f"composer-engine: {e}", file=sys.stderr)
        return 2
    _setup_logging(cfg.debug)
    if missing := preflight.problems(preflight.this_host(cfg.exec_root)):
        for problem in missing:  # one line each, read back by `composer engine start`
            print(f"composer-engine: cannot run containers: {problem}", file=sys.stderr)
        return preflight.EXIT_STATUS
    locks: list[IO[str]] = []
    try:
        # taken first: the activation variables must not reach anything this process spawns
        activated = activated_sockets() if cfg.socket_activated else []
    except ActivationError as e:
        print(f"composer-engine: {e}", file=sys.stderr)
        return 1
    try:
        cfg.data_root.mkdir(parents=True, exist_ok=True, mode=0o711)
        cfg.exec_root.mkdir(parents=True, exist_ok=True, mode=0o700)
        # two daemons must never share either root: lock both
        locks.append(_lock(cfg.pid_path))
        locks.append(_lock(cfg.data_root / "engine.lock"))
        # SIGINT acts as SIGTERM does until _handle_signals installs the handlers (the default: the start
        # is cut short): asyncio.run then keeps its own handler out, whose replacement would format the
        # repr of the main task it holds and so import inspect (~1 MiB kept for the daemon's life)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        asyncio.run(_run(cfg, activated))
    except AlreadyRunning as e:
        print(f"composer-engine: cannot start: {e}", file=sys.stderr)
        return 1
    except ConfigError as e:  # TLS files or the socket group, found wrong when the listeners open
        print(f"composer-engine: {e}", file=sys.stderr)
        return 2
    except (OSError, EngineError) as e:
        print(f"composer-engine: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # one line for the operator; the traceback only with --debug
        if cfg.debug:
            log.exception("engine failed")
        print(f"composer-engine: internal error: {e}", file=sys.stderr)
        return 1
    finally:
        if locks:
            with contextlib.suppress(FileNotFoundError):
                cfg.pid_path.unlink()
        for f in locks:
            f.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
