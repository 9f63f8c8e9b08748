"""Engine connection helpers.

Usage:
  system dial-stdio

Commands:
  dial-stdio    Relay stdin and stdout to the engine's API socket (-H, $DOCKER_HOST, else the embedded
                engine's), until both sides are done

`DOCKER_HOST=ssh://user@host` runs `docker system dial-stdio` on the remote host through the `ssh` binary
(Docker Compose and docker-py do); on a host with composer but no docker CLI, a `docker` on PATH that runs
`composer system dial-stdio` serves the same purpose.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading

from composer.cli.options import GlobalOptions, UsageError
from composer.errors import ComposerError

BUFFER = 1 << 16


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.cli.parsing import parse_command
    from composer.session import resolve_host

    parse_command(__doc__ or "", argv)
    host, _ = resolve_host(options.host, options.environ)
    sock = _connect(host)
    _relay(sock, sys.stdin.fileno(), sys.stdout.fileno())
    return 0


def _connect(host: str) -> socket.socket:
    try:
        if host.startswith("unix://"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(host[len("unix://") :])
            return sock
        if host.startswith("tcp://"):
            addr, _, port = host[len("tcp://") :].rstrip("/").rpartition(":")
            return socket.create_connection((addr.strip("[]"), int(port)))
    except (OSError, ValueError) as exc:
        raise ComposerError(f"cannot connect to the engine at {host}: {exc}") from None
    raise UsageError(f"dial-stdio relays to unix:// or tcp:// hosts, not {host!r}")


def _relay(sock: socket.socket, stdin: int, stdout: int) -> None:
    """stdin -> socket (its end half-closes the socket: the client is done sending) and socket -> stdout
    (its end is the end of the session)."""

    def upstream() -> None:
        with contextlib.suppress(OSError):
            while data := os.read(stdin, BUFFER):
                sock.sendall(data)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)

    threading.Thread(target=upstream, daemon=True).start()
    with contextlib.suppress(OSError):
        while data := sock.recv(BUFFER):
            view = memoryview(data)
            while view:
                view = view[os.write(stdout, view) :]
    sock.close()
