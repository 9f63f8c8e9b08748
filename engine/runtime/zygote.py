"""A warm, single-threaded process that forks monitors on request.

Starting a fresh interpreter per container costs ~0.1 s here; forking this already-initialised
process costs ~1 ms; monitors are forked directly (no intermediate process to reap). The daemon
cannot fork itself (it is threaded), so it starts one zygote and sends it requests over a
SOCK_SEQPACKET pair: one JSON message {"dir", "eid"} carrying the sync pipe's write end as
SCM_RIGHTS. The zygote exits when the daemon's end closes; monitors it forked live on.
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import sys
from pathlib import Path

from engine.kernel import syscalls
from engine.runtime import monitor
from engine.runtime.state import Places
from engine.util import forkserver


def serve(sock: socket.socket) -> None:
    for req, fds in forkserver.requests(sock, 4):
        if not isinstance(req, dict) or not fds:
            for fd in fds:
                os.close(fd)
            continue
        sync_fd = fds[0]
        if os.fork() == 0:
            # The monitor itself (one fork: SIGCHLD is ignored here, so the kernel reaps monitors that end
            # while we live, and they pass to init when we exit). New session, only the sync fd kept.
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the monitor waits for its own children
            runtime_dir = Path(req["dir"])
            eid = req.get("eid") or ""
            if sync_fd < 3:
                sync_fd = os.dup(sync_fd)
            sock.close()
            monitor.detach_stdio(Places(runtime_dir, eid).errlog, sync_fd)
            monitor.serve_forever(runtime_dir, sync_fd, eid)
        for fd in fds:
            os.close(fd)


def main(argv: list[str]) -> None:
    sock = socket.socket(fileno=int(argv[0]))
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # monitors are never waited for: no zombies
    sc = syscalls.LinuxSyscalls()  # libc loaded once here, inherited by every monitor and container init
    # Everything loaded so far lives as long as the monitors: freezing it keeps their collector from
    # writing GC headers into these objects, which would copy the shared pages into each monitor.
    gc.collect()
    gc.freeze()
    # Importing left freed blocks in malloc's arenas (compile-time garbage, the re cache...): hand them
    # back to the kernel, ~0.7 MiB of the zygote's idle RSS.
    sc.libc.malloc_trim(0)
    serve(sock)


if __name__ == "__main__":
    main(sys.argv[1:])
