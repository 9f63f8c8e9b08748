"""Can this host run containers? Checked once when the daemon starts, before it takes a socket.

Each missing piece is one `Problem` naming what is missing and the fix, so `composer engine start` says
"overlayfs is not available (fix: modprobe overlay)" instead of a traceback from the first container start
or a client waiting for a socket that never appears. The host's files and commands are parameters, so the
unit tests describe hosts that lack each piece.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.runtime import native

EXIT_STATUS = 78  # EX_CONFIG: the host, not the engine, is what needs changing


@dataclass(frozen=True)
class Problem:
    """Something this host lacks to run containers, and how to fix it."""

    missing: str
    fix: str

    def __str__(self) -> str:
        return f"{self.missing} (fix: {self.fix})"


@dataclass(frozen=True)
class Host:
    """What preflight reads of the host: user, filesystems, mounts, tools, modules."""

    euid: int
    filesystems: str  # /proc/filesystems
    mounts: str  # /proc/self/mounts
    which: Callable[[str], str | None]
    modules: str = ""  # /lib/modules/<release>/modules.dep: a module listed there loads on first mount
    monitor_built: bool = True  # the container monitor is there (packaged, or built in the exec root)
    c_headers: bool = True  # libc's headers, to build it (/usr/include/stdio.h)


def this_host(exec_root: Path | None = None) -> Host:
    """This machine; with `exec_root`, whether the container monitor is built there (else it must be)."""
    monitor_built = False
    with contextlib.suppress(OSError):
        monitor_built = native.built(exec_root / "native" if exec_root else Path("/nonexistent")) is not None
    return Host(
        euid=os.geteuid(),
        filesystems=_read(Path("/proc/filesystems")),
        mounts=_read(Path("/proc/self/mounts")),
        which=shutil.which,
        modules=_read(Path("/lib/modules") / os.uname().release / "modules.dep"),
        monitor_built=monitor_built,
        c_headers=Path("/usr/include/stdio.h").exists(),
    )


def problems(host: Host) -> list[Problem]:
    found: list[Problem] = []
    if host.euid != 0:
        found.append(Problem("the engine needs root (namespaces, mounts, cgroups, bridges)",
                             "run it as root, e.g. `sudo composer engine start`"))
    registered = any(line.split()[-1:] == ["overlay"] for line in host.filesystems.splitlines())
    loadable = "/overlay.ko" in host.modules  # the kernel loads it when the first layer is mounted
    if not registered and not loadable:
        found.append(Problem("the kernel has no overlayfs (needed for image layers)",
                             "load it with `modprobe overlay` (Linux >= 4.0 with CONFIG_OVERLAY_FS)"))
    cgroup_types = {fields[2] for line in host.mounts.splitlines() if len(fields := line.split()) > 2}
    if not cgroup_types & {"cgroup", "cgroup2"}:
        found.append(Problem("no cgroup filesystem is mounted (needed for container limits)",
                             "mount it with `mount -t cgroup2 none /sys/fs/cgroup`"))
    for command, package, need in (("nft", "nftables", "published ports and bridge networks"),
                                   ("mount", "mount", "image layers and volumes")):
        if host.which(command) is None:
            found.append(Problem(f"`{command}` is not installed (needed for {need})",
                                 f"install it: `apt-get install {package}`"))
    if not host.monitor_built:  # a source checkout: the engine compiles its container monitor (C) itself
        if not any(host.which(cc) for cc in native.COMPILERS):
            found.append(Problem("no C compiler (cc or gcc) to build the container monitor",
                                 "install one: `apt-get install gcc libc6-dev`"))
        elif not host.c_headers:
            found.append(Problem("libc's C headers are not installed (needed to build the container monitor)",
                                 "install them: `apt-get install libc6-dev`"))
    return found


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
