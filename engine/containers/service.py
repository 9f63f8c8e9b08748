"""ContainerService: container records and their lifecycle (create, start, stop, kill, pause, wait, remove).

Runs in the daemon's event loop. Blocking work (runtime, mounts, disk) goes to worker threads; a per-container
lock orders lifecycle operations; container exits are noticed through a pidfd on the monitor (no polling).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import secrets
import signal as signals
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.containers import links, ops, recovery, usage, validate, waits
from engine.containers.core import Core, Removal
from engine.containers.create import merge_config, normalize_host_config, stop_timeout
from engine.containers.health import HealthChecker
from engine.containers.host import HostOps
from engine.containers.logconfig import settle
from engine.containers.model import Container, now_rfc3339
from engine.containers.restart import RestartTracker
from engine.containers.signals import parse_signal
from engine.containers.store import ContainerStore
from engine.containers.traffic import Traffic
from engine.errors import (
    Conflict,
    EngineError,
    InvalidParameter,
    NotFound,
    NotModified,
    ProcessStartFailed,
    SystemError_,
)
from engine.events import EventBus
from engine.util.atomic import Sync

if TYPE_CHECKING:
    from engine.containers.archive import ByteSource
    from engine.containers.userns import Remapper
    from engine.images.store import ImageStore
    from engine.network.service import NetworkService
    from engine.runtime import Runtime
    from engine.volumes.store import VolumeStore

log = logging.getLogger(__name__)
KILL_EXIT_WAIT = 10.0  # seconds a SIGKILL answer waits at most for the exit to be recorded


class ContainerService:
    def __init__(
        self,
        *,
        store: ContainerStore,
        images: ImageStore,
        volumes: VolumeStore,
        runtime_for: Callable[[str], Runtime],
        events: EventBus,
        default_runtime: str,
        log_opts: dict[str, str],
        networks: NetworkService | None = None,
        log_driver: str = "json-file",
        userns: Remapper | None = None,
    ) -> None:
        self.store = store
        self.networks = networks  # engine.network.NetworkService (None: loopback-only containers)
        self.images = images
        self.volumes = volumes
        self.runtime_for = runtime_for  # runtime name -> engine.runtime.Runtime
        self.events = events
        self.default_runtime = default_runtime
        self.log_driver, self.log_opts = log_driver, dict(log_opts)
        self.host = HostOps(
            store=store,
            images=images,
            volumes=volumes,
            runtime_for=runtime_for,
            default_runtime=default_runtime,
            networks=networks,
            userns=userns,  # engine.containers.userns.Remapper with --userns-remap
        )
        # what the helpers below share with the service: records, host half, events, locks, run signals
        self.core = Core(store=store, host=self.host, images=images, events=events, networks=networks)
        self._exit_fds: dict[str, int] = {}
        self.pending_attach: dict[str, int] = {}  # attach clients waiting for a start (docker run)
        self.restarts = RestartTracker(self.core, self.start_locked)
        self.traffic = Traffic(self.core)
        self.health = HealthChecker(self.core, self.traffic)

    # ---- helpers -------------------------------------------------------------------------------------------

    def lock(self, cid: str) -> asyncio.Lock:
        return self.core.lock(cid)

    def get(self, ref: str) -> Container:
        return self.core.get(ref)

    def runtime(self, c: Container) -> Runtime:
        return self.core.runtime(c)

    def log_path(self, cid: str) -> Path:
        return self.core.log_path(cid)

    def event_publish(self, c: Container, action: str, **extra: str) -> None:
        self.core.event_publish(c, action, **extra)

    async def _update(
        self, cid: str, change: Callable[[Container], Container], sync: Sync = Sync.DATA
    ) -> Container:
        """store.update in a worker thread: a record write waits for an fsync (milliseconds on a busy disk),
        which on the event loop would hold up every other request (the parallel stops of a `down`)."""
        return await asyncio.to_thread(self.store.update, cid, change, sync)

    async def _mark_stopped(self, c: Container) -> Container:
        """The manually-stopped flag a stop, kill or forced remove sets before its signal. Only restart
        policies read it (unless-stopped at the daemon's start); without one (the default "no") it is not
        written now: the exit record written next carries it, and a crash before that loses nothing."""
        if ((c.host_config.get("RestartPolicy") or {}).get("Name") or "no") == "no":
            noted = self.store.change_unwritten(c.id, _manually_stopped(True))
            if noted is not None:
                return noted
        return await self._update(c.id, _manually_stopped(True))

    def exited_event(self, cid: str) -> asyncio.Event:
        return self.core.exited_event(cid)

    def started_event(self, cid: str) -> asyncio.Event:
        return self.core.started_event(cid)

    def removed_event(self, cid: str) -> Removal:
        return self.core.removed_event(cid)

    def counts(self) -> dict[str, int]:
        all_ = self.store.all()
        running = sum(1 for c in all_ if c.state.status in ("running", "restarting"))
        paused = sum(1 for c in all_ if c.state.status == "paused")
        return {
            "total": len(all_),
            "running": running,
            "paused": paused,
            "stopped": len(all_) - running - paused,
        }

    def image_users(self, image_id: str, *, running_only: bool = False) -> list[str]:
        """Ids of the containers created from `image_id` (all of them, or only those running)."""
        live = ("running", "restarting", "paused")
        return [
            c.id
            for c in self.store.all()
            if c.image_id == image_id and (not running_only or c.state.status in live)
        ]

    def volume_users(self, name: str) -> list[str]:
        """Ids of the containers (running or not) that mount volume `name`."""
        return [
            c.id
            for c in self.store.all()
            if any(m.get("Type") == "volume" and m.get("Name") == name for m in c.mounts)
        ]

    def image_matches(self, ref: str, c: Container) -> bool:
        """The `ancestor` filter: `ref` names the image `c` was created from (name, tag, id or prefix)."""
        if ref in (c.image_name, c.image_id) or c.image_id.startswith(("sha256:" + ref, ref)):
            return True
        if ":" not in ref.rsplit("/", 1)[-1] and c.image_name == ref + ":latest":
            return True
        try:
            return bool(self.images.get(ref).id == c.image_id)
        except (NotFound, InvalidParameter):
            return False

    async def sizes(self, c: Container) -> tuple[int, int]:
        return await usage.sizes(self.core, c)

    def graph_driver_data(self, c: Container) -> dict[str, str] | None:
        return usage.graph_driver_data(self.core, c)

    async def prune(self, filters: dict[str, tuple[str, ...]], until_ns: list[int]) -> tuple[list[str], int]:
        async def remove(cid: str) -> None:
            await self.remove(cid, force=False, volumes=False)

        return await usage.prune(self.core, remove, filters, until_ns)

    # ---- create / remove / rename --------------------------------------------------------------------------

    async def create(
        self, name: str | None, body: dict[str, Any], platform: str = ""
    ) -> tuple[str, list[str]]:
        """Create a container; returns its id and warnings. `platform` is accepted: one platform here."""
        if self.images is None:
            raise InvalidParameter("images are not available in this engine")
        image_ref = body.get("Image") or ""
        if not isinstance(image_ref, str) or not image_ref:
            raise InvalidParameter("no image specified: Config.Image is empty")
        validate.check_create(body)
        image = await asyncio.to_thread(self.images.get, image_ref)
        cid = secrets.token_hex(32)
        requested = dict(body.get("HostConfig") or {})
        # the daemon's default driver and options, merged in now: the record is what inspect shows
        requested["LogConfig"] = settle(requested.get("LogConfig"), self.log_driver, self.log_opts)
        host_config = normalize_host_config(requested, networks=self.networks is not None)
        if self.host.userns is not None:
            self.host.userns.check_create(host_config)
        for source in host_config.get("VolumesFrom") or []:  # as dockerd: the containers must exist now
            ref = source.split(":", 1)[0]
            if not self._known(ref):
                raise InvalidParameter(f"No such container: {ref}")
        host_config["Runtime"] = host_config.get("Runtime") or self.default_runtime
        self.runtime_for(host_config["Runtime"])  # an unknown runtime is an error now, not at start
        config = merge_config(body, image.config, cid)
        if not name:
            name = await asyncio.to_thread(self._generate_name)
        self.store.reserve_name(name, cid)
        name = name.lstrip("/")
        try:
            if host_config.get("Links"):
                host_config["Links"] = links.normalize(list(host_config["Links"]), name, self.store.get)
            if self.networks is not None:  # the networks must exist; EndpointsConfig is recorded
                await asyncio.to_thread(
                    self.networks.on_create, cid, name, host_config, body.get("NetworkingConfig") or {},
                    mac=str(body.get("MacAddress") or ""),
                )
            c = await asyncio.to_thread(self.host.create, cid, name, image, config, host_config)
        except BaseException:
            self.store.release_name(name, cid)
            if self.networks is not None:
                await asyncio.to_thread(self.networks.forget, cid)
            raise
        self.event_publish(c, "create")
        return cid, []

    def _known(self, ref: str) -> bool:
        try:
            self.store.get(ref)
        except NotFound:
            return False
        return True

    def _generate_name(self) -> str:
        from engine.containers.names import random_name

        for _ in range(20):
            name = random_name()
            if not self.store.name_taken(name):
                return name
        return random_name() + secrets.token_hex(2)

    async def remove(self, ref: str, *, force: bool, volumes: bool) -> None:
        c = self.get(ref)
        async with self.lock(c.id):
            c = self.store.current(c.id) or c
            if c.state.status == "removing":
                raise Conflict(f"removal of container {c.id[:12]} is already in progress")
            if c.state.running:
                if not force:
                    raise Conflict(
                        f'cannot remove container "/{c.name}": container is running: stop the '
                        "container before removing or force remove"
                    )
                self.restarts.cancel(c.id)
                if c.state.status == "restarting":
                    c = await self._update(c.id, lambda cur: cur.with_state(status="exited"))
                else:
                    c = await self._mark_stopped(c)
                    await self._kill_and_wait(c, signals.SIGKILL, None)
            c = await asyncio.to_thread(self._remove_host, c.id, volumes)
        self.event_publish(c, "destroy")
        removal = self.removed_event(c.id)
        removal.exit_code = c.state.exit_code  # for waiters: the record is gone now
        removal.set()
        self.core.forget(c.id)
        self.restarts.forget(c.id)

    def _remove_host(self, cid: str, volumes: bool) -> Container:
        """The record marked removing, then everything of the container deleted: one worker thread call (each
        hop between the event loop and a thread waits for the loop, busy with a `down`'s other calls)."""
        # not fsynced: the record is deleted next; a power cut in between leaves it exited (removable)
        c = self.store.update(cid, lambda cur: cur.with_state(status="removing"), Sync.NONE)
        self.host.remove(c, volumes)
        return c

    async def remove_link(self, ref: str) -> None:
        """`docker rm --link /<linker>/<alias>`: the link goes from the linker's record and its hosts."""
        c = links.linker_of(ref, self.get)
        async with self.lock(c.id):
            c = self.store.current(c.id) or c
            kept = links.without(c, ref)
            host_config = {**c.host_config, "Links": kept or None}
            c = await self._update(c.id, lambda cur: dataclasses.replace(cur, host_config=host_config))
            if self.networks is not None and c.state.status in ("running", "paused"):
                await asyncio.to_thread(self.networks.relink, c.id, c.host_config)
                hosts = {"/etc/hosts": self.store.dir(c.id) / "hosts"}
                await asyncio.to_thread(self.networks.write_etc, c.id, hosts, c.config, c.host_config)
                await asyncio.to_thread(_refresh_bound_file, c.state.pid, "/etc/hosts", hosts["/etc/hosts"])

    async def rename(self, ref: str, new_name: str) -> None:
        if not new_name:
            raise InvalidParameter("Neither old nor new names may be empty")
        c = self.get(ref)
        async with self.lock(c.id):
            c = self.store.current(c.id) or c
            old = c.name
            if new_name.lstrip("/") == old:
                raise Conflict("Renaming a container with the same name as its current name")
            self.store.reserve_name(new_name, c.id)
            c = await self._update(c.id, lambda cur: dataclasses.replace(cur, name=new_name.lstrip("/")))
            self.store.release_name(old, c.id)
            if self.networks is not None:
                self.networks.rename(c.id, c.name)  # the embedded DNS answers the new name
        self.event_publish(c, "rename", oldName="/" + old)

    # ---- start ---------------------------------------------------------------------------------------------

    async def start(self, ref: str) -> None:
        c = self.get(ref)
        async with self.lock(c.id):
            c = self.store.current(c.id) or c
            if c.state.status in ("running", "paused"):
                raise NotModified("container already started")
            if c.state.status in ("removing", "dead"):
                raise Conflict("container is marked for removal and cannot be started")
            self.restarts.cancel(c.id)
            c = await self._update(c.id, _manually_stopped(False))
            try:
                await self.start_locked(c)
                return
            except EngineError as e:
                if not c.host_config.get("AutoRemove"):
                    raise
                error = e
        # `run --rm` waits for the removal even when the start failed: dockerd removes such a container
        with contextlib.suppress(NotFound, Conflict):
            await self.remove(c.id, force=True, volumes=True)
        raise error

    def _start_host(self, c: Container) -> Container:
        # the monitor keeps early output for an attach made before the start (docker run)
        return self.host.start(c, hold_output=self.pending_attach.get(c.id, 0) > 0)

    async def start_locked(self, c: Container) -> Container:
        """Start `c`; the caller holds its lock."""
        self.core.new_run(c.id)
        try:
            try:
                c = await asyncio.to_thread(self._start_host, c)
            except OSError as os_error:  # a mount or a disk write failed: still one clear error
                raise SystemError_(f"cannot start container {c.id[:12]}: {os_error}") from os_error
        except EngineError as e:
            code = _start_failure_code(e)
            message = e.message
            failed = await self._update(
                c.id,
                lambda cur: cur.with_state(
                    status="exited", exit_code=code, error=message, pid=0, finished_at=now_rfc3339()
                ),
            )
            await asyncio.to_thread(self.host.after_failed_start, c)
            self.exited_event(c.id).set()
            self.event_publish(failed, "die", exitCode=str(code))
            raise
        self._watch(c)
        self.core.run_began(c.id)
        self.event_publish(c, "start")
        self.restarts.on_started(c)
        self.health.start(c)
        await self.traffic.started(c)
        return c

    # ---- exits ---------------------------------------------------------------------------------------------

    def _watch(self, c: Container) -> None:
        """Call _on_exit when the monitor ends (its pidfd becomes readable)."""
        if c.id in self._exit_fds:
            return
        try:
            fd = self.runtime(c).exit_fd(c.id)
        except (EngineError, OSError) as e:
            log.warning("no exit fd, treating as exited container=%s error=%s", c.id[:12], e)
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self._on_exit(c.id)))
            return
        self._exit_fds[c.id] = fd
        loop = asyncio.get_running_loop()

        def readable() -> None:
            self._unwatch(c.id)  # now: the fd stays readable, and one exit must be handled once
            asyncio.ensure_future(self._on_exit(c.id))

        loop.add_reader(fd, readable)

    def _unwatch(self, cid: str) -> None:
        fd = self._exit_fds.pop(cid, None)
        if fd is not None:
            asyncio.get_running_loop().remove_reader(fd)
            os.close(fd)

    async def _on_exit(self, cid: str) -> None:
        self.health.stop(cid)
        c = self.store.current(cid)
        if c is None:
            return
        c = await asyncio.to_thread(self.host.exited, c)
        self.event_publish(c, "die", exitCode=str(c.state.exit_code))
        self.exited_event(cid).set()
        if self.restarts.schedule(c):
            return
        if c.host_config.get("AutoRemove"):
            # waits for a stop in progress to finish; a container started again meanwhile stays (Conflict)
            with contextlib.suppress(NotFound, Conflict):
                await self.remove(cid, force=False, volumes=True)

    # ---- stop / kill / pause / restart / wait --------------------------------------------------------------

    async def _kill_and_wait(self, c: Container, sig: int, timeout: float | None) -> bool:
        """Send `sig`; wait up to `timeout` (None = forever) for the exit. True if it exited."""
        exited = self.exited_event(c.id)
        if exited.is_set() or c.state.status not in ("running", "paused"):
            return True
        rt = self.runtime(c)
        try:
            await asyncio.to_thread(rt.kill, c.id, sig)
            self.event_publish(c, "kill", signal=str(sig))
            if c.state.status == "paused":  # a frozen process cannot act on the signal
                await asyncio.to_thread(rt.resume, c.id)
        except (Conflict, NotFound):
            # It already ended; its exit is on the way to _on_exit. NotFound: host.exited has already deleted
            # the runtime's state while the record still says running. Reporting that would make a stop or
            # a forced remove answer 404 for a container that is still there (clients take it as removed).
            pass
        try:
            await asyncio.wait_for(exited.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def stop(self, ref: str, *, signal: str | None = None, timeout: int | None = None) -> None:
        c = self.get(ref)
        async with self.lock(c.id):
            c = self.store.current(c.id) or c
            self.restarts.cancel(c.id)
            if c.state.status == "restarting":
                await self._update(
                    c.id,
                    lambda cur: dataclasses.replace(cur.with_state(status="exited"), manually_stopped=True),
                )
                self.event_publish(c, "stop")
                return
            if c.state.status not in ("running", "paused"):
                raise NotModified("container already stopped")
            c = await self._mark_stopped(c)
            try:
                await self.traffic.drain(c)  # new connections go to the service's other members first
                await self.stop_locked(c, signal, timeout)
            finally:
                self.traffic.drained(c.id)
        self.event_publish(c, "stop")

    async def stop_locked(self, c: Container, signal: str | None, timeout: int | None) -> None:
        sig = parse_signal(signal or c.config.get("StopSignal"))
        wait = stop_timeout(c.config, timeout)
        if not await self._kill_and_wait(c, sig, None if wait < 0 else wait):
            await self._kill_and_wait(c, signals.SIGKILL, None)

    async def kill(self, ref: str, signal: str | None) -> None:
        """Not under the container's lock, as in dockerd: a stop holds that lock for its whole grace period,
        and a kill sent meanwhile (the second Ctrl-C of `up`) must act at once. Signalling a live process
        needs no ordering; one that has just ended answers Conflict like any stopped container."""
        c = self.get(ref)
        sig = parse_signal(signal, signals.SIGKILL)
        c = self.store.current(c.id) or c
        if c.state.status not in ("running", "paused"):
            raise Conflict(f"cannot kill container: {c.id}: container {c.id} is not running")
        c = await self._mark_stopped(c)
        rt = self.runtime(c)
        try:
            await asyncio.to_thread(rt.kill, c.id, sig)
        except NotFound:  # ended, and the runtime already forgot it (see _kill_and_wait)
            raise Conflict(f"cannot kill container: {c.id}: container {c.id} is not running") from None
        self.event_publish(c, "kill", signal=str(sig))
        if sig == signals.SIGKILL and c.state.status == "paused":
            # a frozen task dies only once thawed; it may be thawed, dead, even forgotten by the runtime
            with contextlib.suppress(Conflict, NotFound):
                await asyncio.to_thread(rt.resume, c.id)
        if sig == signals.SIGKILL:
            # as dockerd: the answer waits for the exit to be recorded, so an inspect right after shows it
            # exited and a remove right after is no Conflict
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.exited_event(c.id).wait(), KILL_EXIT_WAIT)

    async def pause(self, ref: str) -> None:
        c = self.get(ref)
        async with self.lock(c.id):
            c = self.store.current(c.id) or c
            if c.state.status == "paused":
                raise Conflict(f"cannot pause container {c.id}: container {c.id} is already paused")
            if c.state.status != "running":
                raise Conflict(f"cannot pause container {c.id}: container {c.id} is not running")
            await asyncio.to_thread(self.runtime(c).pause, c.id)
            c = await self._update(c.id, _transition("running", "paused"))
        self.event_publish(c, "pause")

    async def unpause(self, ref: str) -> None:
        c = self.get(ref)
        async with self.lock(c.id):
            c = self.store.current(c.id) or c
            if c.state.status != "paused":
                raise Conflict(f"cannot unpause container {c.id}: container {c.id} is not paused")
            await asyncio.to_thread(self.runtime(c).resume, c.id)
            c = await self._update(c.id, _transition("paused", "running"))
        self.event_publish(c, "unpause")

    async def restart(self, ref: str, *, signal: str | None = None, timeout: int | None = None) -> None:
        c = self.get(ref)
        async with self.lock(c.id):
            c = self.store.current(c.id) or c
            self.restarts.cancel(c.id)
            if c.state.status in ("running", "paused"):
                c = await self._mark_stopped(c)
                await self.stop_locked(c, signal, timeout)
                self.event_publish(c, "stop")
            c = await self._update(c.id, _manually_stopped(False))
            await self.start_locked(c)
        self.event_publish(c, "restart")

    def wait_for(self, ref: str, condition: str) -> Awaitable[dict[str, Any]]:
        """Register a wait now (nothing after this call is missed); await the result later."""
        return waits.wait_for(self.core, ref, condition)

    async def commit(
        self,
        ref: str,
        *,
        tags: list[str],
        config: dict[str, Any] | None,
        changes: list[str],
        comment: str,
        author: str,
        pause: bool,
    ) -> str:
        return await ops.commit(
            self.core,
            ref,
            tags=tags,
            config=config,
            changes=changes,
            comment=comment,
            author=author,
            pause=pause,
        )

    async def update(self, ref: str, body: dict[str, Any]) -> list[str]:
        return await ops.update(self.core, ref, body)

    async def changes(self, ref: str) -> list[dict[str, Any]]:
        return await ops.changes(self.core, ref)

    async def top(self, ref: str, ps_args: str) -> dict[str, Any]:
        return await ops.top(self.core, ref, ps_args)

    async def stats(self, cid: str, previous: dict[str, Any] | None) -> dict[str, Any]:
        return await ops.stats(self.core, cid, previous)

    # files in the container (engine.containers.archive: its tar helpers load on first use)

    async def stat_path(self, c: Container, path: str) -> dict[str, Any]:
        from engine.containers import archive

        return await archive.stat_path(self.core, self.volumes, c, path)

    def reading(
        self, c: Container, path: str
    ) -> contextlib.AbstractAsyncContextManager[tuple[dict[str, Any], AsyncIterator[bytes]]]:
        from engine.containers import archive

        return archive.reading(self.core, self.volumes, c, path)

    async def extract(
        self, c: Container, path: str, body: ByteSource, *, no_overwrite_dir_non_dir: bool, copy_uid_gid: bool
    ) -> None:
        from engine.containers import archive

        await archive.extract(self.core, self.volumes, c, path, body,
                              no_overwrite_dir_non_dir=no_overwrite_dir_non_dir, copy_uid_gid=copy_uid_gid)

    def exporting(self, c: Container) -> contextlib.AbstractAsyncContextManager[AsyncIterator[bytes]]:
        from engine.containers import archive

        return archive.exporting(self.core, self.volumes, c)

    async def resize(self, ref: str, height: int, width: int) -> None:
        c = self.get(ref)
        if c.state.status not in ("running", "paused"):
            raise Conflict(f"Container {c.id} is not running")
        await asyncio.to_thread(self.runtime(c).resize, c.id, height, width)
        self.event_publish(c, "resize", height=str(height), width=str(width))

    # ---- daemon start / shutdown ---------------------------------------------------------------------------

    async def restore(self) -> None:
        await recovery.restore(self.core, self, self.restarts)
        await self.traffic.changed()  # the network's rules were made before the records were read

    def adopt(self, c: Container) -> None:
        """Watch a container found running at daemon start."""
        self.core.new_run(c.id)
        self._watch(c)
        self.restarts.on_started(c)
        self.health.start(c)

    async def record_exit(self, c: Container) -> None:
        """An exit that happened while no daemon was watching."""
        c = await asyncio.to_thread(self.host.exited, c)
        self.event_publish(c, "die", exitCode=str(c.state.exit_code))
        self.exited_event(c.id).set()

    async def discard_orphan(self, cid: str) -> None:
        """A container directory without a record (create or removal cut short): drop its leftovers."""

        log.info("discarding container leftovers without a record container=%s", cid[:12])
        await asyncio.to_thread(self.host.discard_orphan, cid)

    async def finish_removal(self, c: Container) -> None:
        """A removal the previous daemon did not finish."""
        await asyncio.to_thread(self.host.remove, c, False)

    async def shutdown(self) -> None:
        """The daemon is going away: containers keep running; we only stop watching them."""
        self.restarts.cancel_all()
        self.health.stop_all()
        for cid in list(self._exit_fds):
            self._unwatch(cid)


def _manually_stopped(value: bool) -> Callable[[Container], Container]:
    def change(cur: Container) -> Container:
        # unchanged: the same record, so nothing is written (every start of a created container)
        return cur if cur.manually_stopped == value else dataclasses.replace(cur, manually_stopped=value)

    return change


def _transition(from_status: str, to_status: str) -> Callable[[Container], Container]:
    """A state change that only applies if nothing else (an exit) changed the state meanwhile."""
    return lambda cur: cur.with_state(status=to_status) if cur.state.status == from_status else cur


def _start_failure_code(error: EngineError) -> int:
    """Docker's exit codes for a process that could not be started (the runtime reports those two cases as
    invalid parameters: the user's command is at fault)."""
    if isinstance(error, ProcessStartFailed):
        return error.exit_code
    if not isinstance(error, InvalidParameter):
        return 128
    lowered = error.message.lower()
    if "not found" in lowered or "no such file or directory" in lowered:
        return 127
    if "permission denied" in lowered:
        return 126
    return 128


def _refresh_bound_file(pid: int, dest: str, source: Path) -> None:
    """The file bound at `dest` in a running container is the inode it had at start (a rewrite by rename
    makes a new one): write the new content into that inode, through the container's root."""
    from engine.util.securejoin import resolve_in_root

    with contextlib.suppress(OSError):
        path = resolve_in_root(f"/proc/{pid}/root", dest, follow_last=False)  # the image's links stay inside
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
        with open(fd, "wb") as f:
            f.write(source.read_bytes())
