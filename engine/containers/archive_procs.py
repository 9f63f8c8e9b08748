"""Archive helper processes for the daemon: forked by the warm archive server (archive_server.py), or started
as a fresh interpreter when the server cannot be used. Both answer the part of asyncio's Process that
archive.py uses: stdin, stdout, communicate(), wait(), kill() and returncode."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@functools.cache
def helper_env() -> dict[str, str]:
    """-S: helpers start without site (its .pth hooks were ~20 ms of every `docker cp` and watch sync); the
    path site would have built is passed instead, the engine's own root first (as the zygote's)."""
    paths = [str(Path(__file__).resolve().parents[2]), *(p for p in sys.path if p)]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


class _Server:
    """The daemon's one archive server, started on first use and again after it died."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def _start(self) -> socket.socket:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self._proc = subprocess.Popen(
                [sys.executable, "-S", "-m", "engine.containers.archive_server", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=helper_env(),
            )
        self._sock = ours
        return ours

    def send(self, argv: list[str], fds: list[int]) -> None:
        """Hand one request over; OSError when the server cannot take it (the caller falls back)."""
        msg = json.dumps(argv).encode()
        with self._lock:
            for attempt in (1, 2):
                sock = self._sock or self._start()
                try:
                    socket.send_fds(sock, [msg], fds)
                    return
                except OSError:
                    self._stop()
                    if attempt == 2:
                        raise

    def _stop(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=5)
            self._proc = None

    def close(self) -> None:
        with self._lock:
            self._stop()


SERVER = _Server()


class ForkedHelper:
    """A helper forked by the archive server, driven like an asyncio subprocess."""

    def __init__(
        self,
        stdin: asyncio.StreamWriter | None,
        stdout: asyncio.StreamReader,
        stderr: asyncio.StreamReader,
        status: asyncio.StreamReader,
        transports: list[asyncio.StreamWriter],
    ) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self._status = status
        self._transports = transports  # of stdout, stderr and status: closed once the helper ended
        self._pid = 0
        self.returncode: int | None = None

    async def _read_pid(self) -> None:
        if not self._pid and self.returncode is None:
            line = await self._status.readline()
            self._pid = int(line) if line.strip().isdigit() else -1

    async def wait(self) -> int:
        if self.returncode is None:
            await self._read_pid()
            line = await self._status.read()
            # no code: the child died before it could say (killed)
            self.returncode = int(line) if line.strip().lstrip(b"-").isdigit() else -signal.SIGKILL
            for t in self._transports:
                t.close()
        return self.returncode

    async def communicate(self) -> tuple[bytes, bytes]:
        if self.stdin is not None:
            with contextlib.suppress(OSError):
                self.stdin.close()
        out, err = await asyncio.gather(self.stdout.read(), self.stderr.read())
        await self.wait()
        return out, err

    def kill(self) -> None:
        if self.returncode is None and self._pid > 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)


async def _forked(argv: list[str], stdin: bool) -> ForkedHelper:
    pairs = [socket.socketpair() for _ in range(4)]
    try:
        await asyncio.to_thread(SERVER.send, argv, [theirs.fileno() for _, theirs in pairs])
    except BaseException:
        for ours, theirs in pairs:
            ours.close()
            theirs.close()
        raise
    for _, theirs in pairs:
        theirs.close()
    (in_s, _), (out_s, _), (err_s, _), (st_s, _) = pairs
    writer = None
    if stdin:
        _, writer = await asyncio.open_connection(sock=in_s)
    else:
        in_s.close()  # the helper reads EOF
    out, out_t = await asyncio.open_connection(sock=out_s)
    err, err_t = await asyncio.open_connection(sock=err_s)
    status, st_t = await asyncio.open_connection(sock=st_s)
    helper = ForkedHelper(writer, out, err, status, [out_t, err_t, st_t])
    await helper._read_pid()
    if helper._pid < 0:  # nothing was forked for this request: nothing read its stdin or wrote its output
        for t in (writer, out_t, err_t, st_t):
            if t is not None:
                t.close()
        # the server died with the request in its queue (a kill landing after the send): closing our end
        # stops one still alive, and the next send starts a new one
        await asyncio.to_thread(SERVER.close)
        raise OSError("the archive server ended before it started the helper")
    return helper


async def spawn(mode: str, root: Path, path: str, *extra: str, stdin: bool = False) -> Any:
    """An archive helper for `mode` on `path` under `root`, its stdout and stderr piped (and stdin with
    `stdin`): forked by the archive server, or a fresh interpreter when that fails."""
    argv = [mode, str(root), path, *extra]
    for attempt in (1, 2):  # the second on a new server, when the first died holding the request
        try:
            return await _forked(argv, stdin)
        except OSError as e:
            if attempt == 2:
                log.warning("archive server unavailable, starting the helper afresh error=%s", e)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-S",
        "-m",
        "engine.containers.archive_helper",
        *argv,
        env=helper_env(),
        stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
