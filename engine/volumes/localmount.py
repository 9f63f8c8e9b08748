"""The local driver's `driver_opts`: type/device/o, mounted on the volume's `_data` like `mount -t`."""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import InvalidParameter, SystemError_
from engine.kernel import mounts

VALID_OPTS = ("type", "device", "o", "size")
_REQUIRES = {"device": ("type",), "type": ("device",), "o": ("device", "type")}


def validate(opts: dict[str, str]) -> None:
    """Docker's local-driver option checks, with its wording."""
    for key in opts:
        if key not in VALID_OPTS:
            raise InvalidParameter(f'invalid option: "{key}"')
    for key, required in _REQUIRES.items():
        if key in opts:
            for other in required:
                if other not in opts:
                    raise InvalidParameter(f'missing required option: "{other}"')
    if "size" in opts:
        raise InvalidParameter("quota size requested but no quota support")


def needs_mount(opts: dict[str, str]) -> bool:
    return bool(opts.get("type") or opts.get("device"))


def mount(opts: dict[str, str], target: Path) -> None:
    options = opts.get("o", "")
    device = opts["device"]
    if opts["type"] == "none" and "bind" in options.split(",") and not os.path.exists(device):
        raise InvalidParameter(f"error while mounting volume: bind source path does not exist: {device}")
    try:
        mounts.mount(opts["type"], device, target, options)
    except mounts.MountFailed as e:
        raise SystemError_(f"error while mounting volume '{target}': {e.stderr}") from None


def is_mounted(target: Path) -> bool:
    """True when something is mounted on `target`, bind mounts of the same filesystem included
    (os.path.ismount compares devices and misses those)."""
    wanted = os.path.realpath(target)
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            point = line.split()[4]
            if "\\" in point:
                point = point.encode().decode("unicode_escape")
            if point == wanted:
                return True
    return False


def unmount(target: Path) -> None:
    if not is_mounted(target):
        return
    try:
        mounts.unmount(target)
    except mounts.MountFailed as e:
        raise SystemError_(f"error while unmounting volume '{target}': {e.stderr}") from None
