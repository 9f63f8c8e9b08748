"""The hand-over from the Python monitor to the native one: its command line, and the execve.

After Monitor.start (and the answer to the daemon), the monitor execve()s the program the daemon chose
(native.Program: the compiled monitor.c, or in tests the Python oracle) with the descriptors it holds and
a key=value word for everything the serve loop needs (see monitor.c's parse_args). Same pid, same
children: the container's init is still ours to wait for.

Imported by every monitor (so by the zygote): nothing here loads the build machinery of native/__init__.
"""

from __future__ import annotations

import logging
import os
import socket

from engine._typecheck import TYPE_CHECKING
from engine.runtime.cgroups import v1_hierarchies
from engine.runtime.state import Places

if TYPE_CHECKING:
    from typing import Any

    from engine.runtime.monitor import Monitor

log = logging.getLogger(__name__)


def comm_name(places: Places) -> str:
    """What `ps -o comm` / `top` show for a monitor (the native one sets it from the comm= word)."""
    return f"cmon-{places.dir.name[:6]}{'-e' if places.eid else ''}"


def check(program: dict[str, Any]) -> str:
    """Why the program the daemon chose cannot be run, or "" (checked before the container's process
    exists)."""
    exe = str(program.get("exe") or "")
    if not exe or not program.get("argv"):
        return "no container monitor program given (engine and monitor of different versions?)"
    if not os.access(exe, os.X_OK):
        return f"the container monitor {exe} cannot be run: missing or not executable"
    return ""


def native_args(mon: Monitor, listener: socket.socket, socket_inode: int) -> tuple[list[str], list[int]]:
    """The native monitor's key=value words and the descriptors it keeps."""
    args = [
        f"pid={mon.pid}", f"listen={listener.fileno()}", f"status={mon.places.status}",
        f"started={mon.started_at}", f"sock={mon.places.socket}", f"sock-ino={socket_inode}",
        f"comm={comm_name(mon.places)}", f"tty={int(mon.tty)}", f"exec={int(mon.exec_mode)}",
        f"hold={int(mon.hold)}",
    ]
    keep = [listener.fileno(), *mon.outputs]
    args += [f"{stream}={fd}" for fd, stream in mon.outputs.items()]
    if mon.stdin_w is not None:
        args.append(f"stdin={mon.stdin_w}")
        keep.append(mon.stdin_w)
    if mon.master is not None:
        args.append(f"master={mon.master}")
        keep.append(mon.master)
    if mon.log is not None:
        lf = mon.log
        args += [f"log={lf.path}", f"log-max-size={lf.max_size}", f"log-max-file={lf.max_file}"]
    if not mon.exec_mode:
        # where Cgroup.oom_killed looks: the v2 dir, or the v1 memory controller's
        cg = mon.cgroup
        v1_memory = v1_hierarchies().get("memory") if cg.version == 1 else None
        memory = cg.dirs()["unified"] if cg.version == 2 else (v1_memory / cg.rel if v1_memory else None)
        if memory is not None:
            args.append(f"oom=v{cg.version}:{memory}")
        if mon.opts.get("binary"):
            o = mon.opts
            args += [f"runc={o['binary']}", f"runc-root={o['runc_root']}", f"id={o['id']}"]
    return args, sorted(set(keep))


def exec_native(mon: Monitor, listener: socket.socket, socket_inode: int) -> str:
    """Become the native monitor: same pid, children and descriptors. Returns (the error) only on failure."""
    args, keep = native_args(mon, listener, socket_inode)
    for fd in keep:
        os.set_inheritable(fd, True)
    logging.shutdown()  # flush our log handlers: the native side appends to the same file
    try:
        os.execv(mon.program["exe"], [*mon.program["argv"], *args])
    except OSError as e:
        for fd in keep:
            os.set_inheritable(fd, False)
        return f"{mon.program['exe']}: {e.strerror or e}"
