"""Volumes resolution: Binds, Mounts, Tmpfs and the image's VOLUMEs -> mount points (as `docker inspect`
shows them, decided at create) -> OCI mounts (at start)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import EngineError, InvalidParameter

log = logging.getLogger(__name__)

_BIND_MODES = {
    "ro",
    "rw",
    "z",
    "Z",
    "nocopy",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "consistent",
    "cached",
    "delegated",
}
_PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")


@dataclass(frozen=True)
class Resolved:
    """A container's mounts resolved: mount points and the anonymous volumes made for them."""

    mount_points: tuple[dict[str, Any], ...]
    anonymous_volumes: tuple[str, ...]  # created for this container; removed with `rm -v`


def _check_dest(dest: str) -> str:
    if not dest.startswith("/"):
        raise InvalidParameter(f"invalid mount config: mount path must be absolute: {dest}")
    if os.path.normpath(dest) == "/":
        raise InvalidParameter("invalid specification: destination can't be '/'")
    return os.path.normpath(dest)


def _parse_bind(spec: str) -> tuple[str, str, str]:
    parts = spec.split(":")
    if len(parts) == 2 and parts[1] in _BIND_MODES:  # "vol:ro" is invalid anyway; keep it simple
        raise InvalidParameter(f"invalid volume specification: '{spec}'")
    if len(parts) == 1:
        return "", parts[0], ""
    if len(parts) == 2:
        return parts[0], parts[1], ""
    if len(parts) == 3:
        for mode in parts[2].split(","):
            if mode not in _BIND_MODES:
                raise InvalidParameter(f"invalid mode: {mode}")
        return parts[0], parts[1], parts[2]
    raise InvalidParameter(f"invalid volume specification: '{spec}'")


def resolve(
    host_config: dict[str, Any],
    config: dict[str, Any],
    volumes: Any,
    mounts_of: Callable[[str], tuple[dict[str, Any], ...]] | None = None,
) -> Resolved:
    """Decide every mount point; named volumes are created (Docker creates them at container create).
    mounts_of(ref) gives another container's mount points for HostConfig.VolumesFrom."""
    points: dict[str, dict[str, Any]] = {}
    anonymous: list[str] = []

    # VolumesFrom first: the container's own Binds and Mounts then win a shared destination, as in dockerd
    for point in volumes_from(host_config.get("VolumesFrom") or [], mounts_of):
        points[point["Destination"]] = point
    inherited = set(points)

    def add(point: dict[str, Any]) -> None:
        dest = point["Destination"]
        if dest in points and dest not in inherited:
            raise InvalidParameter(f"Duplicate mount point: {dest}")
        inherited.discard(dest)
        points[dest] = point

    def volume_point(
        name: str | None,
        dest: str,
        rw: bool,
        mode: str,
        labels: dict[str, str] | None = None,
        driver_opts: dict[str, str] | None = None,
        nocopy: bool = False,
    ) -> dict[str, Any]:
        if volumes is None:
            raise InvalidParameter("volumes are not available in this engine")
        vol = _get_or_create(volumes, name, labels, driver_opts)
        if name is None:
            anonymous.append(vol.name)
        return {
            "Type": "volume",
            "Name": vol.name,
            "Source": str(vol.mountpoint),
            "Destination": dest,
            "Driver": vol.driver,
            "Mode": mode,
            "RW": rw,
            "Propagation": "",
            "CopyUp": not nocopy,
        }

    for spec in host_config.get("Binds") or []:
        src, dest, mode = _parse_bind(spec)
        dest = _check_dest(dest)
        modes = mode.split(",") if mode else []
        rw = "ro" not in modes
        if src.startswith("/"):
            propagation = next((m for m in modes if m in _PROPAGATIONS), "rprivate")
            if not os.path.exists(src):
                os.makedirs(src, exist_ok=True)  # -v creates a missing host directory, as Docker does
            add(
                {
                    "Type": "bind",
                    "Source": os.path.normpath(src),
                    "Destination": dest,
                    "Mode": mode,
                    "RW": rw,
                    "Propagation": propagation,
                }
            )
        else:
            add(volume_point(src or None, dest, rw, mode or "z", nocopy="nocopy" in modes))

    for m in host_config.get("Mounts") or []:
        mtype = m.get("Type") or "volume"
        dest = _check_dest(m.get("Target") or m.get("Destination") or "")
        rw = not m.get("ReadOnly", False)
        src = m.get("Source") or ""
        if mtype == "bind":
            if not src.startswith("/"):
                raise InvalidParameter(
                    f"invalid mount config for type \"bind\": invalid mount path: '{src}' "
                    "mount path must be absolute"
                )
            if not os.path.exists(src):
                raise InvalidParameter(
                    f'invalid mount config for type "bind": bind source path does not exist: {src}'
                )
            opts = m.get("BindOptions") or {}
            add(
                {
                    "Type": "bind",
                    "Source": os.path.normpath(src),
                    "Destination": dest,
                    "Mode": "",
                    "RW": rw,
                    "Propagation": opts.get("Propagation") or "rprivate",
                }
            )
        elif mtype == "volume":
            vopts = m.get("VolumeOptions") or {}
            driver_cfg = vopts.get("DriverConfig") or {}
            add(
                volume_point(
                    src or None,
                    dest,
                    rw,
                    "z",
                    vopts.get("Labels"),
                    driver_cfg.get("Options"),
                    bool(vopts.get("NoCopy")),
                )
            )
        elif mtype == "tmpfs":
            if src:
                raise InvalidParameter('invalid mount config for type "tmpfs": source must not be specified')
            topts = m.get("TmpfsOptions") or {}
            add(
                {
                    "Type": "tmpfs",
                    "Source": "",
                    "Destination": dest,
                    "Mode": "",
                    "RW": rw,
                    "Propagation": "",
                    "TmpfsSize": int(topts.get("SizeBytes") or 0),
                    "TmpfsMode": int(topts.get("Mode") or 0),
                }
            )
        else:
            raise InvalidParameter(f"mount type unknown: {mtype!r}")

    for dest, opts in (host_config.get("Tmpfs") or {}).items():
        dest = _check_dest(dest)
        add(
            {
                "Type": "tmpfs",
                "Source": "",
                "Destination": dest,
                "Mode": opts,
                "RW": "ro" not in opts.split(","),
                "Propagation": "",
                "Hidden": True,
            }
        )  # HostConfig.Tmpfs is not listed in inspect's Mounts

    for dest in config.get("Volumes") or {}:
        dest = _check_dest(dest)
        if dest not in points:
            add(volume_point(None, dest, True, ""))
    return Resolved(tuple(points.values()), tuple(anonymous))


def volumes_from(
    refs: list[str], mounts_of: Callable[[str], tuple[dict[str, Any], ...]] | None
) -> list[dict[str, Any]]:
    """The bind and volume mount points of each `container[:ro|rw]`: the mode given wins, else each
    point keeps its own read-write state (dockerd's parseVolumesFrom)."""
    out: list[dict[str, Any]] = []
    for ref in refs:
        name, _, mode = ref.partition(":")
        modes = mode.split(",") if mode else []
        if not name or any(m not in ("ro", "rw", "z", "Z") for m in modes):
            raise InvalidParameter(f"invalid mode: {mode}")
        if mounts_of is None:
            raise InvalidParameter("volumes-from is not available in this engine")
        for point in mounts_of(name):
            if point.get("Type") not in ("bind", "volume"):
                continue  # tmpfs belongs to its container alone
            copied = dict(point)
            if "ro" in modes or "rw" in modes:
                copied["RW"] = "rw" in modes
                copied["Mode"] = mode
            copied.pop("CopyUp", None)  # the data is already there
            out.append(copied)
    return out


def _get_or_create(
    volumes: Any, name: str | None, labels: dict[str, str] | None, driver_opts: dict[str, str] | None
) -> Any:
    if name is not None:
        from engine.errors import NotFound

        try:
            return volumes.get(name)
        except NotFound:
            pass
    return volumes.create(name, labels=labels or {}, driver_opts=driver_opts or {})


def inspect_mounts(points: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    out = []
    for p in points:
        if p.get("Hidden"):
            continue
        shown = {
            k: v
            for k, v in p.items()
            if k in ("Type", "Name", "Source", "Destination", "Driver", "Mode", "RW", "Propagation")
        }
        out.append(shown)
    return out


def _tmpfs_options(p: dict[str, Any]) -> list[str]:
    opts = ["nosuid", "nodev", "noexec"]
    if p.get("Mode"):
        for o in str(p["Mode"]).split(","):
            if o and o not in opts:
                opts.append(o)
    if p.get("TmpfsSize"):
        opts.append(f"size={p['TmpfsSize']}")
    if p.get("TmpfsMode"):
        opts.append(f"mode={p['TmpfsMode']:o}")
    if not p.get("RW", True) and "ro" not in opts:
        opts.append("ro")
    return opts


def oci_mounts(points: tuple[dict[str, Any], ...], etc_files: dict[str, Path]) -> list[dict[str, Any]]:
    """OCI runtime-spec mounts, in the order the runtime must apply them (parents before children)."""
    out: list[dict[str, Any]] = []
    for p in sorted(points, key=lambda p: p["Destination"].count("/")):
        if p["Type"] == "tmpfs":
            out.append(
                {
                    "destination": p["Destination"],
                    "type": "tmpfs",
                    "source": "tmpfs",
                    "options": _tmpfs_options(p),
                }
            )
            continue
        opts = ["rbind", p.get("Propagation") or "rprivate", "rw" if p.get("RW", True) else "ro"]
        out.append({"destination": p["Destination"], "type": "bind", "source": p["Source"], "options": opts})
    mounted = {p["Destination"] for p in points}
    for dest, path in etc_files.items():
        if dest not in mounted:  # a user bind over /etc/hosts wins, as in Docker
            out.append(
                {
                    "destination": dest,
                    "type": "bind",
                    "source": str(path),
                    "options": ["rbind", "rprivate", "rw"],
                }
            )
    return out


def copy_up_new_volumes(
    points: tuple[dict[str, Any], ...], rootfs: Path, volumes: Any
) -> tuple[dict[str, Any], ...]:
    """Fill empty volumes from the image on their first use (the store copies into empty ones only, and
    resolves the container path inside the rootfs); return the points with CopyUp cleared."""
    out = []
    for p in points:
        if p["Type"] == "volume" and p.get("CopyUp") and volumes is not None:
            volumes.copy_up(volumes.get(p["Name"]), Path(p["Destination"]), root=rootfs)
            p = {**p, "CopyUp": False}
        out.append(p)
    return tuple(out)


def mount_volumes(points: tuple[dict[str, Any], ...], volumes: Any, ref: str) -> None:
    """Volumes with driver options (tmpfs, nfs, bind devices) are mounted when a user starts."""
    if volumes is None:
        return
    for p in points:
        if p["Type"] == "volume":
            volumes.mount(volumes.get(p["Name"]), ref)


def unmount_volumes(points: tuple[dict[str, Any], ...], volumes: Any, ref: str) -> None:
    if volumes is None:
        return
    for p in points:
        if p["Type"] == "volume":
            try:
                volumes.unmount(volumes.get(p["Name"]), ref)
            except (EngineError, OSError) as e:
                log.warning("volume not unmounted volume=%s error=%s", p["Name"], e)
