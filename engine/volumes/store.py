"""The local volume driver: `<root>/<name>/_data` directories with `meta.json`, Docker's rules and wording.

Volumes with driver_opts (type/device/o) are mounted on `_data` while containers use them: `mount()` and
`unmount()` count users per volume, as Docker's local driver does, so the last user unmounts.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import os
import re
import secrets
import shutil
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import Conflict, InvalidParameter, NotFound
from engine.util.atomic import atomic_write_json, read_json
from engine.volumes import localmount
from engine.volumes.copy import copy_tree, resolve_in_root

log = logging.getLogger(__name__)

NAME_MAX = 255  # a directory name; longer ones could never be stored
_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
ANONYMOUS_LABEL = "com.docker.volume.anonymous"
InUse = Callable[[str], list[str]]


@dataclass(frozen=True)
class Volume:
    """A volume's record, as `docker volume inspect` shows it."""

    name: str
    driver: str
    mountpoint: Path
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    created_at: str = ""
    anonymous: bool = False


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _label_match(labels: dict[str, str], spec: str) -> bool:
    key, sep, value = spec.partition("=")
    return key in labels and (not sep or labels[key] == value)


def _truthy(values: Sequence[str], key: str) -> bool:
    value = values[-1].lower()
    if value not in ("true", "false", "1", "0"):
        raise InvalidParameter(f"invalid filter '{key}={values[-1]}'")
    return value in ("true", "1")


def disk_usage(path: Path) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


class VolumeStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._mounts: dict[str, set[str]] = {}

    def _dir(self, name: str) -> Path:
        if not _NAME_RE.match(name):
            raise InvalidParameter(
                f'create {name}: "{name}" includes invalid characters for a local volume name, only '
                '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use '
                "absolute path"
            )
        if len(name.encode()) > NAME_MAX:
            raise InvalidParameter(f"create {name[:64]}...: volume name longer than {NAME_MAX} bytes")
        return self.root / name

    def _load(self, directory: Path) -> Volume:
        meta = read_json(directory / "meta.json")
        return Volume(
            name=meta["Name"], driver=meta["Driver"], mountpoint=directory / "_data",
            labels=dict(meta.get("Labels") or {}), options=dict(meta.get("Options") or {}),
            created_at=meta.get("CreatedAt", ""), anonymous=bool(meta.get("Anonymous")),
        )

    def create(self, name: str | None = None, *, driver: str = "local", labels: dict[str, str] | None = None,
               driver_opts: dict[str, str] | None = None) -> Volume:
        """Create a volume (an existing one of that name is returned); name None makes an anonymous one."""
        if driver != "local":
            raise NotFound(f'error looking up volume plugin {driver}: plugin "{driver}" not found')
        opts = dict(driver_opts or {})
        localmount.validate(opts)
        anonymous = name is None
        labels = dict(labels or {})
        if name is None:
            name = secrets.token_hex(32)
            labels.setdefault(ANONYMOUS_LABEL, "")
        directory = self._dir(name)
        with self._lock:
            if (directory / "meta.json").is_file():
                existing = self._load(directory)
                if existing.driver != driver:
                    raise Conflict(f"volume name {name} already in use by driver {existing.driver}")
                return existing
            (directory / "_data").mkdir(parents=True, exist_ok=True)
            os.chmod(directory / "_data", 0o755)
            volume = Volume(name, driver, directory / "_data", labels, opts, _now(), anonymous)
            atomic_write_json(directory / "meta.json", {
                "Name": name, "Driver": driver, "Labels": labels, "Options": opts,
                "CreatedAt": volume.created_at, "Anonymous": anonymous,
            })
        log.info("volume created name=%s anonymous=%s", name, anonymous)
        return volume

    def get(self, name: str) -> Volume:
        try:
            directory = self._dir(name)
        except InvalidParameter:
            raise NotFound(f"get {name}: no such volume") from None
        try:
            return self._load(directory)
        except FileNotFoundError:
            raise NotFound(f"get {name}: no such volume") from None

    def list(self, filters: Mapping[str, Sequence[str]] | None = None,
             in_use: InUse | None = None) -> builtins.list[Volume]:
        filters = filters or {}
        for key in filters:
            if key not in ("name", "label", "dangling", "driver"):
                raise InvalidParameter(f"invalid filter '{key}'")
        out = []
        for directory in sorted(self.root.iterdir()):
            if not (directory / "meta.json").is_file():
                continue
            volume = self._load(directory)
            if filters.get("name") and not any(n in volume.name for n in filters["name"]):
                continue
            if filters.get("driver") and volume.driver not in filters["driver"]:
                continue
            if not all(_label_match(volume.labels, s) for s in filters.get("label", [])):
                continue
            if filters.get("dangling"):
                dangling = not (in_use(volume.name) if in_use is not None else [])
                if dangling != _truthy(filters["dangling"], "dangling"):
                    continue
            out.append(volume)
        return out

    def remove(self, name: str, *, force: bool = False, in_use: InUse = lambda _n: []) -> None:
        """Delete a volume and its data; a volume some container uses is a conflict even with force."""
        volume = self.get(name)
        users = in_use(name)
        if users:
            raise Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]")
        with self._lock:
            localmount.unmount(volume.mountpoint)
            self._mounts.pop(name, None)
            if localmount.is_mounted(volume.mountpoint):
                raise Conflict(f"remove {name}: volume is still mounted")
            shutil.rmtree(self.root / name)
        log.info("volume removed name=%s force=%s", name, force)

    def prune(self, filters: Mapping[str, Sequence[str]] | None = None,
              in_use: InUse = lambda _n: []) -> dict[str, Any]:
        """Remove unused volumes: anonymous ones only, unless filter all=true (Docker API >= 1.42)."""
        filters = filters or {}
        for key in filters:
            if key not in ("label", "label!", "all"):
                raise InvalidParameter(f"invalid filter '{key}'")
        everything = bool(filters.get("all")) and _truthy(filters["all"], "all")
        deleted: builtins.list[str] = []
        reclaimed = 0
        for volume in self.list():
            if not everything and not volume.anonymous and ANONYMOUS_LABEL not in volume.labels:
                continue
            if not all(_label_match(volume.labels, s) for s in filters.get("label", [])):
                continue
            if any(_label_match(volume.labels, s) for s in filters.get("label!", [])):
                continue
            if in_use(volume.name):
                continue
            size = 0 if localmount.needs_mount(volume.options) else disk_usage(volume.mountpoint)
            try:
                self.remove(volume.name, in_use=in_use)
            except Conflict as exc:
                log.info("prune skipped volume=%s reason=%s", volume.name, exc.message)
                continue
            deleted.append(volume.name)
            reclaimed += size
        return {"VolumesDeleted": deleted or None, "SpaceReclaimed": reclaimed}

    def copy_up(self, volume: Volume, source_dir: Path, *, root: Path | None = None) -> None:
        """Fill an empty volume from an image directory (first use), preserving ownership and modes.

        With `root` (the container's rootfs), `source_dir` is the path inside the container and is
        resolved there, so an image's symlink (/var/run -> /run) cannot point the copy at the host."""
        if root is not None:
            source_dir = resolve_in_root(root, str(source_dir))
        if source_dir.is_symlink() or not source_dir.is_dir():
            return
        if any(volume.mountpoint.iterdir()):
            return  # Docker copies only into an empty volume
        copy_tree(source_dir, volume.mountpoint)
        log.info("volume filled from image name=%s source=%s", volume.name, source_dir)

    def mount(self, volume: Volume, ref: str = "") -> Path:
        """Make the volume's data available at its mountpoint (mounting driver_opts); counts users by ref."""
        with self._lock:
            users = self._mounts.setdefault(volume.name, set())
            if localmount.needs_mount(volume.options) and not localmount.is_mounted(volume.mountpoint):
                localmount.mount(volume.options, volume.mountpoint)
            users.add(ref)
            return volume.mountpoint

    def unmount(self, volume: Volume, ref: str = "") -> None:
        """Release one user; the last one unmounts a driver_opts volume."""
        with self._lock:
            users = self._mounts.get(volume.name, set())
            users.discard(ref)
            if not users:
                self._mounts.pop(volume.name, None)
                if localmount.needs_mount(volume.options):
                    localmount.unmount(volume.mountpoint)
