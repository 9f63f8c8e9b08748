"""Wiring a hijacked Engine API connection (exec start, container attach) to our own stdio.

Without a TTY the engine multiplexes stdout and stderr in 8-byte-header frames; with one the stream is
raw and our terminal is put in raw mode for the session (restored even on failure). Our stdin is copied
in a thread and half-closed at EOF, which the engine passes on as the process's stdin EOF.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import sys
import threading
from collections.abc import Iterator
from typing import Any, BinaryIO

from composer._log import get_logger

log = get_logger(__name__)


def raw_socket(hijacked: Any) -> socket.socket:
    """The plain socket of a hijacked attach/exec stream (`composer.lite` returns it as is; a wrapper that
    holds it as `_sock` is unwrapped)."""
    sock = getattr(hijacked, "_sock", hijacked)
    return sock if isinstance(sock, socket.socket) else sock._sock


@contextlib.contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _copy_stdin(sock: socket.socket, stdin: BinaryIO) -> None:
    try:
        fd = stdin.fileno()
        while True:
            data = os.read(fd, 65536)
            if not data:
                break
            sock.sendall(data)
    except OSError as exc:
        log.debug("stdin copy ended error=%s", exc)
    finally:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)


def _read_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return buf
        buf += chunk
    return buf


def pump(hijacked: Any, *, tty: bool, send_stdin: bool) -> None:
    """Copy the session's output to our stdout/stderr until the engine closes it."""
    sock = raw_socket(hijacked)
    stdout, stderr = sys.stdout.buffer, sys.stderr.buffer
    if send_stdin:
        threading.Thread(target=_copy_stdin, args=(sock, sys.stdin.buffer), daemon=True).start()
    else:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
    try:
        if tty:
            while chunk := sock.recv(65536):
                stdout.write(chunk)
                stdout.flush()
            return
        while True:
            header = _read_exact(sock, 8)
            if len(header) < 8:
                return
            kind, size = header[0], struct.unpack(">I", header[4:])[0]
            payload = _read_exact(sock, size)
            target = stderr if kind == 2 else stdout
            target.write(payload)
            target.flush()
    finally:
        with contextlib.suppress(OSError):
            sock.close()
