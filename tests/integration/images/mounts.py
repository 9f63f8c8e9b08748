"""Test cleanup: unmount everything mounted below a directory, even when a test failed midway."""

from __future__ import annotations

import subprocess
from pathlib import Path


def mounts_under(root: Path) -> list[str]:
    prefix = str(root.resolve()).rstrip("/") + "/"
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].encode().decode("unicode_escape")
            if point.startswith(prefix):
                found.append(point)
    return found


def unmount_all(root: Path) -> None:
    for point in sorted(mounts_under(root), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)
