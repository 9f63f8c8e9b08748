"""mount(8) and umount(8) for the engine's own mounts: container overlays (engine.images.rw), overlays of
idmapped layers (engine.containers.userns) and volumes with driver options (engine.volumes.localmount).
The tools, not mount(2): they parse overlay and filesystem options exactly as an operator's mount does.
Callers word the failure for their own object."""

from __future__ import annotations

import subprocess
from pathlib import Path


class MountFailed(Exception):
    """mount/umount exited non-zero; `stderr` is its message (stripped, may be empty)."""

    def __init__(self, tool: str, returncode: int, stderr: str) -> None:
        super().__init__(f"{tool} failed: {stderr or returncode}")
        self.tool, self.returncode, self.stderr = tool, returncode, stderr


def _run(argv: list[str], cwd: Path | None = None) -> None:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, errors="replace", check=False)
    if proc.returncode != 0:
        raise MountFailed(argv[0], proc.returncode, proc.stderr.strip())


def mount(fstype: str, source: str, target: Path, options: str = "", *, cwd: Path | None = None) -> None:
    """`mount -t fstype [-o options] source target`; relative paths in `options` are taken from `cwd`."""
    _run(["mount", "-t", fstype, *(["-o", options] if options else []), source, str(target)], cwd=cwd)


def unmount(target: Path) -> None:
    """Unmount `target`; one still busy in some namespace is detached from ours (umount -l) instead."""
    try:
        _run(["umount", str(target)])
    except MountFailed:
        _run(["umount", "-l", str(target)])


def detach(target: Path) -> None:
    """umount -l: detach `target` now, the kernel frees it when its last user goes."""
    _run(["umount", "-l", str(target)])
