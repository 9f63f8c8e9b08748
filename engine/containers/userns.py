"""--userns-remap on the host side: which ids, and the files a remapped container needs to own.

`load("default")` makes (or finds) the user `dockremap` with ranges in /etc/subuid and /etc/subgid, as
dockerd does; `load("user[:group]")` takes that user's and group's first ranges. A container with
`HostConfig.UsernsMode` "host" is not remapped (the escape hatch, as `docker run --userns=host`).
"""

from __future__ import annotations

import contextlib
import grp
import logging
import os
import pwd
import subprocess
from pathlib import Path
from typing import Any

from engine.config import ConfigError
from engine.errors import EngineError, InvalidParameter
from engine.kernel import idmap, mounts
from engine.kernel.idmap import Remap
from engine.network import netlink
from engine.runtime.sysctl import NET_PREFIX

log = logging.getLogger(__name__)

DEFAULT_USER = "dockremap"
RANGE_SIZE = 65536
FIRST_ID = 100000
OVERLAY_OPTIONS = "index=off,redirect_dir=off,metacopy=off"
ARCHIVE = "-archive"  # the idmapped layers of a stopped container's rootfs mounted by the archive helper


def load(spec: str, subuid: Path = Path("/etc/subuid"), subgid: Path = Path("/etc/subgid")) -> Remap:
    user, _, group = spec.partition(":")
    if spec == "default":
        user = group = DEFAULT_USER
        _ensure_default_user(subuid, subgid)
    group = group or user
    names = _names(user, pwd.getpwnam, pwd.getpwuid, "user")
    try:
        gnames = _names(group, grp.getgrnam, grp.getgrgid, "group")
    except ConfigError:  # /etc/subgid names it; it need not be a group of /etc/group (dockerd's rule)
        gnames = (group,)
    uid_range = _first_range(subuid, names)
    gid_range = _first_range(subgid, gnames)
    if uid_range is None:
        raise ConfigError(f'can\'t create ID mappings: No subuid ranges found for user "{user}"')
    if gid_range is None:
        raise ConfigError(f'can\'t create ID mappings: No subgid ranges found for group "{group}"')
    return Remap(names[0], *uid_range, *gid_range)


def _names(who: str, by_name: Any, by_id: Any, what: str) -> tuple[str, ...]:
    """The name and the number a subid file may use for `who`."""
    try:
        entry = by_id(int(who)) if who.isdigit() else by_name(who)
    except KeyError:
        raise ConfigError(f"userns-remap: {what} {who} not found") from None
    name = entry[0]
    number = entry[2]
    return (name, str(number))


def _first_range(path: Path, names: tuple[str, ...]) -> tuple[int, int] | None:
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return None
    for line in lines:
        parts = line.strip().split(":")
        if len(parts) == 3 and parts[0] in names and parts[1].isdigit() and parts[2].isdigit():
            return int(parts[1]), int(parts[2])
    return None


def _ensure_default_user(subuid: Path, subgid: Path) -> None:
    """dockerd's "default": a system user dockremap, and ranges for it after every range already given."""
    try:
        pwd.getpwnam(DEFAULT_USER)
    except KeyError:
        run = subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--shell",
                "/bin/false",
                DEFAULT_USER,
            ],
            capture_output=True,
            text=True,
        )
        if run.returncode:
            raise ConfigError(
                f"userns-remap: cannot create user {DEFAULT_USER}: {run.stderr.strip()}"
            ) from None
    for path in (subuid, subgid):
        if _first_range(path, (DEFAULT_USER,)) is None:
            start = max([FIRST_ID, *_range_ends(path)])
            with open(path, "a") as f:
                f.write(f"{DEFAULT_USER}:{start}:{RANGE_SIZE}\n")


def _range_ends(path: Path) -> list[int]:
    ends = []
    with contextlib.suppress(FileNotFoundError):
        for line in path.read_text().splitlines():
            parts = line.strip().split(":")
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                ends.append(int(parts[1]) + int(parts[2]))
    return ends


class Remapper:
    """Mounts a remapped container's rootfs (idmapped image layers under an upper dir the remapped root
    owns) and hands it the files it must own (hosts/resolv.conf/hostname, its volumes)."""

    def __init__(self, remap: Remap, exec_root: Path) -> None:
        self.remap = remap
        self.root = exec_root / "userns"
        self._ns_fd: int | None = None

    def applies(self, host_config: dict[str, Any]) -> bool:
        return host_config.get("UsernsMode") != "host"

    def check_create(self, host_config: dict[str, Any]) -> None:
        """dockerd's refusals: what cannot work from inside a remapped user namespace."""
        if not self.applies(host_config):
            return
        if host_config.get("Privileged"):
            raise InvalidParameter(
                "privileged mode is incompatible with user namespaces.  You must run the container in the "
                "host namespace when running privileged mode"
            )
        if host_config.get("NetworkMode") == "host":
            raise InvalidParameter(
                "cannot share the host's network namespace when user namespaces are enabled"
            )
        if host_config.get("PidMode") == "host":
            raise InvalidParameter("cannot share the host PID namespace when user namespaces are enabled")

    def _fd(self) -> int:
        if self._ns_fd is None:
            self._ns_fd = idmap.userns_fd(self.remap)
        return self._ns_fd

    def mount_rootfs(self, images: Any, cid: str) -> Path:
        """Replace the container's overlay with one over idmapped layers; the same merged directory."""
        images.unmount_rw(cid)
        paths = images.rw_paths(cid)
        upper, work, merged = Path(paths["UpperDir"]), Path(paths["WorkDir"]), Path(paths["MergedDir"])
        root_uid, root_gid = self.remap.uid(0), self.remap.gid(0)
        for d in (upper, work):
            st = d.stat()
            if (st.st_uid, st.st_gid) == (0, 0):
                os.chown(d, root_uid, root_gid)
        # runc binds the rootfs from inside the user namespace: its path must be traversable by the
        # remapped root (dockerd keeps 0711 on the directories above a remapped engine's layers)
        for d in (merged.parent, merged.parent.parent, merged.parent.parent.parent):
            mode = d.stat().st_mode & 0o7777
            if mode & 0o011 != 0o011:
                os.chmod(d, mode | 0o011)
        self.release(cid)
        lowers = self._idmapped_lowers(cid, paths["LowerDir"].split(":"))
        options = f"lowerdir={':'.join(lowers)},upperdir={upper},workdir={work},{OVERLAY_OPTIONS}"
        try:
            mounts.mount("overlay", "overlay", merged, options)
        except mounts.MountFailed as e:
            self.release(cid)
            raise EngineError(f"cannot mount the remapped rootfs: {e.stderr}") from None
        return merged

    def _idmapped_lowers(self, name: str, lowers: list[str]) -> list[str]:
        """The image layers seen through the remapping: idmapped clones under <userns root>/<name>/l<i>."""
        layer_dir = self.root / name
        out = []
        for i, lower in enumerate(lowers):
            target = layer_dir / f"l{i}"
            target.mkdir(parents=True, exist_ok=True)
            idmap.clone_idmapped(lower, str(target), self._fd())
            out.append(str(target))
        return out

    def archive_overlay(self, images: Any, cid: str) -> tuple[str, str]:
        """(working dir, overlay options) for the archive helper to mount a stopped container's rootfs as
        the container sees it: its layers idmapped as at a start (`release(cid + ARCHIVE)` afterwards)."""
        paths = images.rw_paths(cid)
        name = cid + ARCHIVE
        self.release(name)
        lowers = self._idmapped_lowers(name, paths["LowerDir"].split(":"))
        relative = ":".join(os.path.basename(lower) for lower in lowers)  # short: the options fit a page
        options = (f"lowerdir={relative},upperdir={paths['UpperDir']},workdir={paths['WorkDir']},"
                   f"{OVERLAY_OPTIONS}")
        return str(self.root / name), options

    def release(self, cid: str) -> None:
        """Unmount the idmapped layer copies (after the overlay over them is gone)."""
        layer_dir = self.root / cid
        if not layer_dir.is_dir():
            return
        for target in sorted(layer_dir.iterdir()):
            if os.path.ismount(target):
                with contextlib.suppress(mounts.MountFailed):
                    mounts.detach(target)
            with contextlib.suppress(OSError):
                target.rmdir()
        with contextlib.suppress(OSError):
            layer_dir.rmdir()

    def set_net_sysctls(self, spec: dict[str, Any]) -> None:
        """A network namespace joined by path (the engine's bridge made it, or another container's) belongs
        to the host's user namespace, where the remapped root may not write /proc/sys/net: its net.*
        sysctls are set from here before the start, and left out of the spec. dockerd's runc writes them
        from inside, its namespace being made in the container's user namespace; the values are the same."""
        linux = spec["linux"]
        path = next((ns.get("path") for ns in linux.get("namespaces") or [] if ns["type"] == "network"), None)
        wanted = {k: v for k, v in (linux.get("sysctl") or {}).items() if k.startswith(NET_PREFIX)}
        if not path or not wanted:
            return
        netlink.write_sysctls(Path(path), wanted)
        linux["sysctl"] = {k: v for k, v in linux["sysctl"].items() if k not in wanted}

    def own(self, path: Path) -> None:
        """A file the engine made for the container (hosts, resolv.conf, hostname): the remapped root's."""
        os.chown(path, self.remap.uid(0), self.remap.gid(0))

    def own_volume(self, data: Path) -> None:
        """A volume's content, shifted into the remapped range (ids already in it are left alone), as
        dockerd keeps a remapped engine's volumes."""
        for dirpath, dirnames, filenames in os.walk(data):
            for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
                st = os.lstat(name)
                if st.st_uid < self.remap.uid_count and st.st_gid < self.remap.gid_count:
                    os.lchown(name, self.remap.uid(st.st_uid), self.remap.gid(st.st_gid))
