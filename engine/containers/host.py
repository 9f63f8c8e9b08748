"""The blocking half of the container lifecycle: disk, mounts, namespaces and runtime calls.

ContainerService (asyncio) decides and orders; it runs these methods in worker threads. Nothing here
touches events or waiters.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.containers import links
from engine.containers import mounts as mountlib
from engine.containers.etcfiles import effective_hostname, write_etc_files
from engine.containers.model import ZERO_TIME, Container, Health, now_rfc3339
from engine.containers.store import ContainerStore
from engine.errors import Conflict, EngineError
from engine.kernel import idmap

if TYPE_CHECKING:
    from engine.containers.userns import Remapper
    from engine.images.store import Image, ImageStore
    from engine.network.service import NetworkService
    from engine.runtime import Runtime
    from engine.volumes.store import VolumeStore

log = logging.getLogger(__name__)


class HostOps:
    def __init__(
        self,
        *,
        store: ContainerStore,
        images: ImageStore,
        volumes: VolumeStore,
        runtime_for: Callable[[str], Runtime],
        default_runtime: str,
        networks: NetworkService | None = None,
        userns: Remapper | None = None,
    ) -> None:
        self.store = store
        self.userns = userns  # engine.containers.userns.Remapper (--userns-remap) or None
        self.networks = networks  # engine.network.NetworkService or None
        self.images = images
        self.volumes = volumes
        self.runtime_for = runtime_for  # runtime name -> engine.runtime.Runtime
        self.default_runtime = default_runtime

    def runtime(self, c: Container) -> Runtime:
        return self.runtime_for(c.host_config.get("Runtime") or self.default_runtime)

    def log_path(self, cid: str) -> Path:
        return self.store.dir(cid) / f"{cid}-json.log"

    def create(
        self, cid: str, name: str, image: Image, config: dict[str, Any], host_config: dict[str, Any]
    ) -> Container:
        resolved = mountlib.resolve(host_config, config, self.volumes, lambda ref: self.store.get(ref).mounts)
        argv = list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
        c = Container(
            id=cid,
            name=name,
            created=now_rfc3339(),
            image_id=image.id,
            image_name=config["Image"],
            config=config,
            host_config=host_config,
            path=argv[0],
            args=tuple(argv[1:]),
            mounts=resolved.mount_points,
            anonymous_volumes=resolved.anonymous_volumes,
        )
        self.store.dir(cid).mkdir(parents=True, exist_ok=True)
        try:
            self.images.create_rw(cid, image)
            write_etc_files(self.store.dir(cid), config, host_config)
            return self.store.save(c)
        except BaseException:
            self.discard(c, remove_volumes=True)
            raise

    def _release_userns(self, cid: str) -> None:
        if self.userns is not None:
            self.userns.release(cid)

    def discard(self, c: Container, remove_volumes: bool) -> None:
        for step in (
            lambda: self.images.unmount_rw(c.id),
            lambda: self._release_userns(c.id),
            lambda: self.images.remove_rw(c.id),
        ):
            try:
                step()
            except (EngineError, OSError) as e:
                log.warning("cleanup step failed container=%s error=%s", c.id[:12], e)
        if remove_volumes and self.volumes is not None:
            for vol in c.anonymous_volumes:
                try:
                    self.volumes.remove(vol, force=True, in_use=lambda _n: [])
                except (EngineError, OSError) as e:
                    log.warning("anonymous volume not removed volume=%s error=%s", vol, e)
        self.store.delete(c.id)

    def remove(self, c: Container, volumes: bool) -> None:
        try:
            self.runtime(c).delete(c.id)
        except (EngineError, OSError) as e:
            log.debug("runtime delete on remove container=%s error=%s", c.id[:12], e)
        self._network_step("forget", c)
        self.discard(c, remove_volumes=volumes)

    def after_failed_start(self, c: Container) -> None:
        for step in (
            lambda: self.runtime(c).delete(c.id),
            lambda: self.images.unmount_rw(c.id),
            lambda: self._release_userns(c.id),
            lambda: mountlib.unmount_volumes(c.mounts, self.volumes, ref=c.id),
        ):
            try:
                step()
            except (EngineError, OSError) as e:
                log.debug("cleanup after failed start container=%s error=%s", c.id[:12], e)
        self._network_step("detach", c)

    def _network_step(self, step: str, c: Container) -> None:
        """Release the container's endpoints, ports and namespace (detach) or also its networks (forget)."""
        if self.networks is None:
            return
        try:
            getattr(self.networks, step)(c.id)
        except (EngineError, OSError) as e:
            log.warning("network %s failed container=%s error=%s", step, c.id[:12], e)

    def start(self, c: Container, *, hold_output: bool) -> Container:
        from engine.runtime.oci import build_spec, resolve_user

        self.images.get(c.image_id)  # NotFound if the image went away meanwhile
        rootfs = self.images.mount_rw(c.id)
        dockerenv = rootfs / ".dockerenv"
        if not dockerenv.exists():
            dockerenv.touch(mode=0o755)  # tools detect "inside a container" by this file, as with Docker
        mountlib.mount_volumes(c.mounts, self.volumes, ref=c.id)
        points = mountlib.copy_up_new_volumes(c.mounts, rootfs, self.volumes)
        if points != c.mounts:
            c = self.store.update(c.id, lambda cur: dataclasses.replace(cur, mounts=points))
        remapper = self.userns if self.userns is not None and self.userns.applies(c.host_config) else None
        if remapper is not None:  # the same rootfs, its layers seen through the remapping
            rootfs = remapper.mount_rootfs(self.images, c.id)
            remapper.own(dockerenv)  # the remapped root's, as dockerd's init layer makes it
            for p in points:
                if p["Type"] == "volume" and p.get("Source"):
                    remapper.own_volume(Path(p["Source"]))
        # networking first: the namespace to join, then hosts/resolv.conf with the container's addresses
        netns = self.networks.attach(c.id, c.name, c.config, c.host_config) if self.networks else None
        etc = write_etc_files(self.store.dir(c.id), c.config, c.host_config)
        if self.networks is not None:
            self.networks.write_etc(c.id, etc, c.config, c.host_config)
        if remapper is not None:
            for path in etc.values():
                remapper.own(path)
        oci_mounts = mountlib.oci_mounts(points, etc)
        user = resolve_user(rootfs, c.config.get("User") or "")
        config = c.config
        if linked := self.linked_env(c):  # before the container's own variables
            config = {**config, "Env": linked + list(config.get("Env") or [])}
        spec = build_spec(
            config,
            c.host_config,
            rootfs=rootfs,
            mounts=oci_mounts,
            hostname=effective_hostname(c.config, c.host_config),
            cgroups_path=f"/composer/{c.id}",
            netns_path=netns or self._netns_path(c),
            user=user,
            ns_paths=self._shared_ns_paths(c),
        )
        if remapper is not None:
            idmap.apply_to_spec(spec, remapper.remap, self._joined_userns(c))
            remapper.set_net_sysctls(spec)
        log_opts = dict(c.host_config.get("LogConfig", {}).get("Config") or {})  # daemon's merged at create
        no_log = c.host_config.get("LogConfig", {}).get("Type") == "none"
        ps = self.runtime(c).start(
            c.id,
            spec,
            log_path=None if no_log else self.log_path(c.id),
            log_opts=log_opts,
            tty=bool(c.config.get("Tty")),
            open_stdin=bool(c.config.get("OpenStdin")),
            # the monitor keeps early output for an attach made before the start
            hold_output=hold_output,
        )
        health = (
            Health() if c.config.get("Healthcheck") and _health_enabled(c.config["Healthcheck"]) else None
        )
        return self.store.update(
            c.id,
            lambda cur: cur.with_state(
                status="running",
                pid=ps.pid,
                exit_code=0,
                oom_killed=False,
                error="",
                started_at=ps.started_at or now_rfc3339(),
                finished_at=ZERO_TIME,
                health=health,
            ),
        )

    def _joined_ns(self, mode: str, kind: str, what: str) -> str:
        other = self.store.get(mode.split(":", 1)[1])
        if other.state.status not in ("running", "paused"):
            raise Conflict(f"cannot join {what} namespace of a non running container: {other.id}")
        return f"/proc/{other.state.pid}/ns/{kind}"

    def _netns_path(self, c: Container) -> str | None:
        mode = c.host_config.get("NetworkMode", "bridge")
        if mode.startswith("container:"):
            return self._joined_ns(mode, "net", "network")
        # "host": no namespace; the others get one from engine.network, or, without it, a fresh
        # loopback-only one from the runtime
        return None

    def _joined_userns(self, c: Container) -> str:
        """The user namespace of the container whose pid, ipc or network namespace `c` shares (dockerd's
        rule under --userns-remap), when that one is remapped; "" for a new one."""
        for key in ("PidMode", "IpcMode", "NetworkMode"):
            mode = str(c.host_config.get(key) or "")
            if not mode.startswith("container:"):
                continue
            other = self.store.get(mode.split(":", 1)[1])
            path = f"/proc/{other.state.pid}/ns/user"
            with contextlib.suppress(OSError):
                if other.state.pid and os.readlink(path) != os.readlink("/proc/self/ns/user"):
                    return path
        return ""

    def _shared_ns_paths(self, c: Container) -> dict[str, str]:
        """PidMode/IpcMode/UTSMode "container:<id>": that container's namespaces."""
        out = {}
        for key, kind in (("PidMode", "pid"), ("IpcMode", "ipc"), ("UTSMode", "uts")):
            mode = str(c.host_config.get(key) or "")
            if mode.startswith("container:"):
                out[kind] = self._joined_ns(mode, kind, kind)
        return out

    def linked_env(self, c: Container) -> list[str]:
        """The variables of c's legacy links: on the default bridge only, as dockerd."""
        mode = c.host_config.get("NetworkMode")
        if not c.host_config.get("Links") or mode not in (None, "", "default", "bridge"):
            return []
        return links.environment(c, self.store.get, self._bridge_address)

    def _bridge_address(self, c: Container) -> str:
        if self.networks is None:
            return ""
        shown = self.networks.settings(c.id, c.config, c.host_config)["Networks"]
        return str((shown.get("bridge") or {}).get("IPAddress") or "")

    def exited(self, c: Container) -> Container:
        rt = self.runtime(c)
        try:
            ps = rt.state(c.id)
            code, oom, finished = ps.exit_code, ps.oom_killed, ps.finished_at
        except (EngineError, OSError) as e:
            log.warning("exit status unknown container=%s error=%s", c.id[:12], e)
            code, oom, finished = (c.state.exit_code if c.state.status == "exited" else 255), False, None
        try:
            rt.delete(c.id)
        except (EngineError, OSError) as e:
            log.debug("runtime delete after exit container=%s error=%s", c.id[:12], e)
        try:
            self.images.unmount_rw(c.id)
        except (EngineError, OSError) as e:
            log.warning("rootfs not unmounted container=%s error=%s", c.id[:12], e)
        self._release_userns(c.id)
        mountlib.unmount_volumes(c.mounts, self.volumes, ref=c.id)
        self._network_step("detach", c)
        # the last probes stay visible after the exit, as in Docker
        return self.store.update(
            c.id,
            lambda current: current.with_state(
                status="exited",
                pid=0,
                exit_code=code if code is not None else 255,
                oom_killed=bool(oom),
                finished_at=finished or now_rfc3339(),
            ),
        )

    def discard_orphan(self, cid: str) -> None:
        with contextlib.suppress(EngineError, OSError):
            self.images.unmount_rw(cid)
        with contextlib.suppress(EngineError, OSError):
            self.images.remove_rw(cid)
        self.store.delete(cid)


def _health_enabled(hc: dict[str, Any]) -> bool:
    test = hc.get("Test") or []
    return bool(test) and test[0] != "NONE"
