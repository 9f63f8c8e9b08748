"""A warm, single-threaded process that forks monitors on request.

Starting a fresh interpreter per container costs ~0.1 s here; forking this already-initialised
process costs ~1 ms. The daemon cannot fork itself (it is threaded), so it starts one zygote and
sends it requests over a SOCK_SEQPACKET pair: one JSON message {"dir", "eid"} carrying the sync pipe's
write end as SCM_RIGHTS. The zygote exits when the daemon's end closes; monitors it forked live on.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

from engine.runtime import monitor, syscalls
from engine.runtime.state import Places


def serve(sock: socket.socket) -> None:
    while True:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(sock, 65536, 4)
        except OSError:
            return
        if not msg:
            return
        try:
            req = json.loads(msg)
        except ValueError:
            for fd in fds:
                os.close(fd)
            continue
        if not fds:
            continue
        sync_fd = fds[0]
        child = os.fork()
        if child == 0:
            # Intermediate: new session, only the sync fd kept, fork the monitor, exit (we reap it below).
            runtime_dir = Path(req["dir"])
            eid = req.get("eid") or ""
            if sync_fd < 3:
                sync_fd = os.dup(sync_fd)
            sock.close()
            monitor.detach_stdio(Places(runtime_dir, eid).errlog, sync_fd)
            if os.fork() == 0:
                monitor.serve_forever(runtime_dir, sync_fd, eid)
            os._exit(0)
        for fd in fds:
            os.close(fd)
        os.waitpid(child, 0)


def main(argv: list[str]) -> None:
    sock = socket.socket(fileno=int(argv[0]))
    syscalls.LinuxSyscalls()  # libc loaded once here, inherited by every monitor and container init
    serve(sock)


if __name__ == "__main__":
    main(sys.argv[1:])
