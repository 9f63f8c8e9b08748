"""Host devices for a container: HostConfig.Devices, DeviceCgroupRules, and all of /dev when privileged.

Produces OCI `linux.devices` entries (created in the container's /dev by the runtime) and the matching
allow rules for the devices cgroup, with Docker's error wording.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from engine._typecheck import TYPE_CHECKING
from engine.errors import InvalidParameter

if TYPE_CHECKING:
    from typing import Any

# Never copied from the host for a privileged container: they are the container's own.
_SKIP = {
    "pts",
    "shm",
    "fd",
    "mqueue",
    ".lxc",
    ".lxd-mounts",
    "console",
    "core",
    "stdin",
    "stdout",
    "stderr",
    "ptmx",
}
_RULE = re.compile(r"^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$")


def _device(path_in_container: str, host: Path) -> dict[str, Any] | None:
    st = host.stat()
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    else:
        return None
    return {
        "path": path_in_container,
        "type": kind,
        "major": os.major(st.st_rdev),
        "minor": os.minor(st.st_rdev),
        "fileMode": stat.S_IMODE(st.st_mode),
        "uid": st.st_uid,
        "gid": st.st_gid,
    }


def _walk(host: Path, in_container: str, skip_top: bool) -> list[dict[str, Any]]:
    found = []
    for entry in sorted(host.iterdir()):
        if skip_top and entry.name in _SKIP:
            continue
        target = f"{in_container.rstrip('/')}/{entry.name}"
        if entry.is_symlink():
            continue
        if entry.is_dir():
            found += _walk(entry, target, False)
            continue
        dev = _device(target, entry)
        if dev is not None:
            found.append(dev)
    return found


def parse_rule(text: str) -> dict[str, Any]:
    """Parse a rule like "c 1:3 mr" into an OCI device cgroup rule."""
    m = _RULE.match(text.strip())
    if m is None:
        raise InvalidParameter(f"invalid device cgroup rule format: '{text}'")
    rule: dict[str, Any] = {"allow": True, "type": m.group(1), "access": m.group(4)}
    for key, group in (("major", 2), ("minor", 3)):
        if m.group(group) != "*":
            rule[key] = int(m.group(group))
            if rule[key] >= 1 << 32:  # device numbers are 32-bit (a cgroup v2 program compares u32)
                raise InvalidParameter(f"invalid device cgroup rule format: '{text}'")
    return rule


def host_devices(
    host_config: dict[str, Any], privileged: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(linux.devices, extra cgroup allow rules)."""
    devices: list[dict[str, Any]] = _walk(Path("/dev"), "/dev", True) if privileged else []
    rules: list[dict[str, Any]] = []
    for item in host_config.get("Devices") or []:
        on_host = str(item.get("PathOnHost") or "")
        in_container = str(item.get("PathInContainer") or on_host)
        access = str(item.get("CgroupPermissions") or "rwm")
        try:
            host = Path(on_host)
            found = _walk(host, in_container, False) if host.is_dir() else [_device(in_container, host)]
        except OSError as e:
            raise InvalidParameter(
                f'error gathering device information while adding custom device "{on_host}": '
                f"{os.strerror(e.errno or 0).lower()}"
            ) from None
        for dev in found:
            if dev is None:
                raise InvalidParameter(
                    f'error gathering device information while adding custom device "{on_host}": '
                    "not a device node"
                )
            devices = [d for d in devices if d["path"] != dev["path"]] + [dev]
            rules.append(
                {
                    "allow": True,
                    "type": dev["type"],
                    "major": dev["major"],
                    "minor": dev["minor"],
                    "access": access,
                }
            )
    rules += [parse_rule(r) for r in host_config.get("DeviceCgroupRules") or []]
    return devices, rules
