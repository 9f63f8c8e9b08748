"""The two systemd protocols a service daemon speaks: socket activation (`LISTEN_FDS`, `-H fd://`) and
readiness notification (`NOTIFY_SOCKET`, `Type=notify`). Both are plain environment + file descriptor
contracts (sd_listen_fds(3), sd_notify(3)); no libsystemd is needed and nothing here needs systemd running.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
from collections.abc import Mapping, MutableMapping

log = logging.getLogger(__name__)

LISTEN_FDS_START = 3  # SD_LISTEN_FDS_START: the first passed descriptor
_ACTIVATION_VARS = ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES")


class ActivationError(Exception):
    """`-H fd://` without (usable) sockets from systemd; one line for the operator."""


def activated_sockets(environ: MutableMapping[str, str] | None = None) -> list[socket.socket]:
    """The listening sockets systemd passed to this process, in order. The variables are removed from the
    environment (as sd_listen_fds(1) does) so the monitors and helpers we spawn never see them, and the
    descriptors are made close-on-exec for the same reason."""
    env = os.environ if environ is None else environ
    pid, count = env.get("LISTEN_PID", ""), env.get("LISTEN_FDS", "")
    for key in _ACTIVATION_VARS:
        env.pop(key, None)
    if not pid or not count:
        raise ActivationError(
            "no sockets found via socket activation: make sure the service was started by systemd"
        )
    if not pid.isdigit() or int(pid) != os.getpid():
        raise ActivationError(f"socket activation: LISTEN_PID={pid} is not this process ({os.getpid()})")
    if not count.isdigit() or int(count) < 1:
        raise ActivationError(f"socket activation: invalid LISTEN_FDS={count!r}")
    sockets = []
    for fd in range(LISTEN_FDS_START, LISTEN_FDS_START + int(count)):
        try:
            fcntl.fcntl(fd, fcntl.F_SETFD, fcntl.fcntl(fd, fcntl.F_GETFD) | fcntl.FD_CLOEXEC)
            sock = socket.socket(fileno=fd)  # family and type are read from the descriptor
        except OSError as e:
            raise ActivationError(
                f"socket activation: descriptor {fd} is not a socket: {e.strerror}"
            ) from None
        if sock.type != socket.SOCK_STREAM:
            raise ActivationError(f"socket activation: descriptor {fd} is not a stream socket")
        sockets.append(sock)
    return sockets


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send `state` ("READY=1", "STOPPING=1", "STATUS=...") to the service manager; False when not run
    under one (no NOTIFY_SOCKET), so callers need not care."""
    env = os.environ if environ is None else environ
    address = env.get("NOTIFY_SOCKET", "")
    if not address or address[0] not in "/@":
        return False
    if address[0] == "@":  # abstract namespace
        address = "\0" + address[1:]
    with (
        contextlib.suppress(OSError),
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s,
    ):
        s.connect(address)
        s.sendall(state.encode())
        return True
    log.warning("service manager notification failed state=%s socket=%s", state, address)
    return False
