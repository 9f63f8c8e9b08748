"""The request loop the daemon's warm fork servers share (the zygote, the archive server).

The daemon is threaded and cannot fork itself, so a small process started early forks per request. A request
is one SOCK_SEQPACKET message: JSON, with descriptors as SCM_RIGHTS. Kept import-light: both servers are
forked from, and whatever they import stays in every child.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

from engine._typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


def requests(sock: socket.socket, max_fds: int) -> Iterator[tuple[Any, list[int]]]:
    """Each request's decoded JSON (None when it is not JSON) and its descriptors, until the daemon's end
    closes. The caller closes the descriptors."""
    while True:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(sock, 65536, max_fds)
        except OSError:
            return
        if not msg:
            return
        try:
            yield json.loads(msg), fds
        except ValueError:
            yield None, fds
