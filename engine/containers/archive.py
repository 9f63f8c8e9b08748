"""`docker cp`: stat, tar and untar a path inside a container, through `archive_helper` (a process forked by
the warm archive server (archive_procs), that chroots into the container's root). A running container is
reached through /proc/<pid>/root, so its volumes and binds are seen as the container sees them; a stopped one
through its mounted rootfs, with its volumes and binds mounted over it in the helper's own mount namespace
(as dockerd mounts them). Either way /proc and /sys are the empty directories of the rootfs, as dockerd
shows them, never the live ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from engine.containers import archive_procs
from engine.containers import mounts as mountlib
from engine.containers.model import Container
from engine.containers.userns import ARCHIVE
from engine.errors import Conflict, EngineError, InvalidParameter, NotFound, SystemError_

if TYPE_CHECKING:
    from engine.containers.core import Core
    from engine.volumes.store import VolumeStore

CHUNK = 64 * 1024

log = logging.getLogger(__name__)


class ByteSource(Protocol):
    async def read(self, n: int = -1) -> bytes: ...


@dataclass(frozen=True)
class Root:
    """A container's filesystem as the archive helpers see it: its root, overlay and binds."""

    path: Path
    # a stopped container: its overlay (working dir, options) and its volumes and binds, which the helper
    # mounts in a mount namespace of its own, out of reach of anything the daemon mounts or unmounts
    overlay: tuple[str, str] | None = None
    binds: tuple[dict[str, Any], ...] = ()
    # --userns-remap: "uid_start:uid_count:gid_start:gid_count", the container's ids as the host stores them
    idmap: str = ""

    def extra(self) -> tuple[str, ...]:
        """The helper's arguments: mount a stopped container's rootfs and volumes itself; map owners."""
        out = ("--idmap", self.idmap) if self.idmap else ()
        if self.overlay is None:
            return out
        return (*out, "--mounts", json.dumps({"overlay": self.overlay, "binds": list(self.binds)}))


def _binds(c: Container) -> tuple[dict[str, Any], ...]:
    """A stopped container's volumes and binds: {source, destination, rw}, parents first."""
    points = sorted(c.mounts, key=lambda p: str(p.get("Destination", "")).count("/"))
    return tuple(
        {"source": p["Source"], "destination": p["Destination"], "rw": bool(p.get("RW", True))}
        for p in points
        if p.get("Type") in ("volume", "bind") and p.get("Source")
    )


def _idmap(core: Core, c: Container) -> str:
    """A remapped container's id map for the helper: owners in its archives are the container's ids, and
    what is put there is stored under the remapped ones, as dockerd does."""
    remapper = core.host.userns
    if remapper is None or not remapper.applies(c.host_config):
        return ""
    r = remapper.remap
    return f"{r.uid_start}:{r.uid_count}:{r.gid_start}:{r.gid_count}"


@contextlib.asynccontextmanager
async def _root(core: Core, volumes: VolumeStore, c: Container) -> AsyncIterator[Root]:
    cur = core.store.current(c.id) or c
    idmap = _idmap(core, cur)
    live = Path(f"/proc/{cur.state.pid}/root")
    if cur.state.status in ("running", "paused") and cur.state.pid and live.exists():
        yield Root(live, idmap=idmap)
        return
    async with core.lock(c.id):  # no start meanwhile
        merged, cwd, options = await asyncio.to_thread(core.images.rw_overlay, c.id)
        remapper = core.host.userns
        if idmap and remapper is not None:  # its layers as the container sees them (idmapped)
            cwd_s, options = await asyncio.to_thread(remapper.archive_overlay, core.images, c.id)
            cwd = Path(cwd_s)
        ref = f"{c.id}-archive"
        with contextlib.suppress(EngineError, OSError):  # volumes with driver options (tmpfs, nfs)
            await asyncio.to_thread(mountlib.mount_volumes, cur.mounts, volumes, ref)
        try:
            yield Root(merged, (str(cwd), options), _binds(cur), idmap)
        finally:
            with contextlib.suppress(EngineError, OSError):
                await asyncio.to_thread(mountlib.unmount_volumes, cur.mounts, volumes, ref)
            if idmap and remapper is not None:
                await asyncio.to_thread(remapper.release, c.id + ARCHIVE)


@contextlib.asynccontextmanager
async def exporting(core: Core, volumes: VolumeStore, c: Container) -> AsyncIterator[AsyncIterator[bytes]]:
    """`docker export`: the container's filesystem (image + changes, without its volumes) as a tar; a
    remapped container's owners as the container sees them, as dockerd exports them."""
    if _idmap(core, c):
        async with _root(core, volumes, c) as root:
            if root.overlay is None:  # running: its (remapped) rootfs, without the volumes over it
                merged = Path(await asyncio.to_thread(lambda: core.images.rw_paths(c.id)["MergedDir"]))
                root = Root(merged, idmap=root.idmap)
            async with _exported(Root(root.path, root.overlay, (), root.idmap)) as chunks:
                yield chunks
        return
    async with core.lock(c.id):
        merged = Path(await asyncio.to_thread(core.images.mount_rw, c.id))
    try:
        async with _exported(Root(merged)) as chunks:
            yield chunks
    finally:
        async with core.lock(c.id):
            now = core.store.current(c.id)
            if now is None or now.state.status not in ("running", "paused"):
                with contextlib.suppress(EngineError, OSError):
                    await asyncio.to_thread(core.images.unmount_rw, c.id)


@contextlib.asynccontextmanager
async def _exported(root: Root) -> AsyncIterator[AsyncIterator[bytes]]:
    proc = await archive_procs.spawn("export", root.path, "/", *root.extra())

    async def chunks() -> AsyncIterator[bytes]:
        assert proc.stdout is not None
        while data := await proc.stdout.read(CHUNK):
            yield data

    try:
        yield chunks()
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        await proc.wait()


def _raise(code: int, err: bytes, c: Container, path: str) -> None:
    # one line: the helper's own message is its last (a crash would print a traceback before it)
    lines = err.decode(errors="replace").strip().splitlines()
    msg = lines[-1] if lines else ""
    if len(lines) > 1:
        log.error("archive helper failed container=%s path=%s error=%s", c.id[:12], path, msg)
    if code == 2:
        raise NotFound(f"Could not find the file {path} in container {c.name}")
    if code == 3:
        raise InvalidParameter(msg)
    if code == 5:  # the container's root went away between our look and the helper's chroot
        raise Conflict(f"container {c.name} stopped while its files were being read; try again")
    raise SystemError_(msg or f"archive helper failed with exit code {code}")


async def _stat_in(root: Root, c: Container, path: str) -> dict[str, Any]:
    proc = await archive_procs.spawn("stat", root.path, path, *root.extra())
    out, err = await proc.communicate()
    if proc.returncode:
        _raise(proc.returncode, err, c, path)
    return json.loads(out)


async def stat_path(core: Core, volumes: VolumeStore, c: Container, path: str) -> dict[str, Any]:
    if not path:
        raise InvalidParameter("path is required")
    async with _root(core, volumes, c) as root:
        return await _stat_in(root, c, path)


@contextlib.asynccontextmanager
async def reading(
    core: Core,
    volumes: VolumeStore, c: Container, path: str
) -> AsyncIterator[tuple[dict[str, Any], AsyncIterator[bytes]]]:
    if not path:
        raise InvalidParameter("path is required")
    async with _root(core, volumes, c) as root:
        stat = await _stat_in(root, c, path)
        proc = await archive_procs.spawn("get", root.path, path, *root.extra())

        async def chunks() -> AsyncIterator[bytes]:
            assert proc.stdout is not None
            while data := await proc.stdout.read(CHUNK):
                yield data

        try:
            yield stat, chunks()
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            await proc.wait()


async def extract(
    core: Core,
    volumes: VolumeStore,
    c: Container,
    path: str,
    body: ByteSource,
    *,
    no_overwrite_dir_non_dir: bool,
    copy_uid_gid: bool,
) -> None:
    if c.host_config.get("ReadonlyRootfs") and c.state.status in ("running", "paused"):
        raise InvalidParameter("container rootfs is marked read-only")
    extra = ["--no-overwrite-dir-non-dir"] if no_overwrite_dir_non_dir else []
    async with _root(core, volumes, c) as root:
        proc = await archive_procs.spawn("put", root.path, path, *extra, *root.extra(), stdin=True)
        assert proc.stdin is not None
        try:
            while data := await body.read(CHUNK):
                proc.stdin.write(data)
                await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the helper stopped early; its exit code says why
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.close()
        _, err = await proc.communicate()
        if proc.returncode:
            _raise(proc.returncode, err, c, path)
    del copy_uid_gid  # numeric owners from the archive are always kept
