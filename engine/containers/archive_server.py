"""A warm, single-threaded process that forks archive helpers on request.

Each `docker cp` and watch sync ran `python -m engine.containers.archive_helper` afresh: an interpreter start
and the helper's imports (tarfile, json, re), 40-60 ms of every sync. This process imports the helper once and
forks a child per request, ~1 ms (the daemon cannot fork itself: it is threaded). One SOCK_SEQPACKET message
per request: the helper's argv as JSON, with four descriptors as SCM_RIGHTS: the child's stdin, stdout and
stderr, and a status channel on which the child writes its pid when it starts and its exit code when it ends
(the daemon cannot wait for a grandchild). The server exits when the daemon's end closes.

    python -S -m engine.containers.archive_server FD
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import traceback

from engine.containers import archive_helper
from engine.util import forkserver


def _child(argv: list[str], fds: list[int]) -> None:
    """In the forked child: become the helper with the given stdio, then report the exit code."""
    status = fds[3]
    code = 4
    try:
        for target, fd in enumerate(fds[:3]):
            os.dup2(fd, target)
        for fd in fds[:3]:
            os.close(fd)
        os.write(status, f"{os.getpid()}\n".encode())
        try:
            code = archive_helper.main(argv)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except BaseException:  # as an interpreter would: the traceback on stderr, exit 1
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        try:
            os.write(status, f"{code}\n".encode())
        finally:
            os._exit(0)


def serve(sock: socket.socket) -> None:
    for argv, fds in forkserver.requests(sock, 4):
        if isinstance(argv, list) and len(fds) == 4 and min(fds) > 2 and os.fork() == 0:
            sock.close()
            _child([str(a) for a in argv], fds)
        for fd in fds:
            os.close(fd)


def main(argv: list[str]) -> None:
    sock = socket.socket(fileno=int(argv[0]))
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children report on their status channel: no zombies
    serve(sock)


if __name__ == "__main__":
    main(sys.argv[1:])
