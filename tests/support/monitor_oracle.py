"""The container monitor's serve loop in Python: a test oracle for the native one (engine/runtime/native).

The engine runs one monitor program, monitor.c. This is the same program written again in plain Python
(it was the engine's own loop before the C one replaced it): the same command line (the key=value words
handoff.native_args builds), the same attach protocol, hold buffer, json-file log and status record.
Tests run a container's scenario once with each (`Runtime(monitor=ORACLE)`) and compare what clients,
the log and status.json saw (tests/integration/runtime/test_monitor_oracle.py); `JsonFileLog` is the
reference the C log writer is compared with byte for byte (tests/unit/runtime/test_rt_native_log.py).

The numbers both obey (hold limit, waits, sizes) are read from native.h, where the C side defines them:
one place, nothing to keep in step.

Run as `python3 -m tests.support.monitor_oracle engine.runtime.native-monitor key=value...` (the first
word puts "engine.runtime" in its command line, as runtime._kill_monitor wants of a monitor).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import re
import selectors
import socket
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.runtime import native
from engine.runtime.logfile import parse_size, rfc3339nano
from engine.util.atomic import Sync, atomic_write_json

log = logging.getLogger("monitor-oracle")

ORACLE = native.Program(sys.executable, (sys.executable, "-S", "-m", "tests.support.monitor_oracle",
                                         native.ARGV0))
NATIVE_H = native.HERE / "native.h"


def native_constants() -> dict[str, int]:
    """native.h's numeric #defines: `#define NAME 123`, `#define NAME (4L * 1024 * 1024)`."""
    found: dict[str, int] = {}
    numeric = re.compile(r"^#define (\w+) +\(?([0-9L *]+?)\)?(?: */\*.*)?$", re.M)
    for name, expr in numeric.findall(NATIVE_H.read_text()):
        value = 1
        for factor in expr.replace("L", "").split("*"):
            value *= int(factor)
        found[name] = value
    return found


C = native_constants()
HOLD_LIMIT = C["HOLD_LIMIT"]
HOLD_WAIT = C["HOLD_WAIT_MS"] / 1000
EXEC_WAIT = C["EXEC_WAIT_MS"] / 1000
SEND_TIMEOUT = C["SEND_TIMEOUT_MS"] / 1000
READ_SIZE = C["READ_SIZE"]
MAX_REQUEST = C["MAX_REQUEST"]
MAX_LINE = C["MAX_LINE"]


class JsonFileLog:
    """Docker's json-file log driver: one JSON object per line of output, rotated by max-size/max-file."""

    def __init__(self, path: Path, opts: dict[str, Any] | None = None) -> None:
        opts = opts or {}
        self.path = Path(path)
        self.max_size = parse_size(opts.get("max-size"))
        self.max_file = max(int(opts.get("max-file") or 1), 1)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        self.size = os.fstat(self.fd).st_size
        self.pending: dict[str, bytes] = {"stdout": b"", "stderr": b""}

    def write(self, stream: str, data: bytes) -> None:
        buf = self.pending.get(stream, b"") + data
        while True:
            nl = buf.find(b"\n")
            if nl < 0:
                if len(buf) < MAX_LINE:
                    break
                nl = MAX_LINE - 1
            self._entry(stream, buf[: nl + 1])
            buf = buf[nl + 1 :]
        self.pending[stream] = buf

    def flush(self) -> None:
        for stream, buf in self.pending.items():
            if buf:
                self._entry(stream, buf)
        self.pending = {k: b"" for k in self.pending}

    def _entry(self, stream: str, line: bytes) -> None:
        record = json.dumps({"log": line.decode("utf-8", "replace"), "stream": stream, "time": rfc3339nano()},
                            ensure_ascii=False).encode() + b"\n"
        if self.max_size > 0 and self.size + len(record) > self.max_size and self.size > 0:
            self._rotate()
        os.write(self.fd, record)
        self.size += len(record)

    def _rotate(self) -> None:
        os.close(self.fd)
        if self.max_file > 1:
            for i in range(self.max_file - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{i}")
                if i == 1:
                    if self.path.exists():
                        os.replace(self.path, older)
                elif self.path.with_name(f"{self.path.name}.{i - 1}").exists():
                    os.replace(self.path.with_name(f"{self.path.name}.{i - 1}"), older)
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
        else:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC
        self.fd = os.open(self.path, flags, 0o640)
        self.size = 0

    def close(self) -> None:
        self.flush()
        os.close(self.fd)


@dataclass
class Pending:
    sock: socket.socket
    buf: bytes = b""


@dataclass
class Client:
    sock: socket.socket
    streams: tuple[bool, bool]  # stdout, stderr
    stdin: bool
    reading: bool = True


def frame(stream: int, data: bytes) -> bytes:
    """Docker's stdcopy header: stream id, 3 zero bytes, big-endian payload length."""
    return struct.pack(">BxxxL", stream, len(data)) + data


@dataclass
class Words:
    """monitor.c's parse_args: the key=value words."""

    values: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def parse(argv: list[str]) -> Words:
        return Words(dict(word.split("=", 1) for word in argv if "=" in word))

    def fd(self, key: str) -> int | None:
        return int(self.values[key]) if key in self.values else None

    def flag(self, key: str) -> bool:
        return self.values.get(key, "0") not in ("", "0")


class OracleMonitor:
    def __init__(self, words: Words) -> None:
        w = words.values
        self.pid = int(w["pid"])
        self.listener = socket.socket(fileno=int(w["listen"]))
        self.tty = words.flag("tty")
        self.exec_mode = words.flag("exec")
        self.stdin_w = words.fd("stdin")
        self.master = words.fd("master")
        self.outputs = {fd: name for name in ("stdout", "stderr") if (fd := words.fd(name)) is not None}
        self.hold: list[tuple[str, bytes]] | None = [] if words.flag("hold") else None
        self.held = 0
        self.served = False
        self.clients: list[Client] = []
        self.log: JsonFileLog | None = None
        if w.get("log"):
            max_size = int(w.get("log-max-size", "-1"))
            self.log = JsonFileLog(Path(w["log"]), {"max-size": max_size if max_size > 0 else None,
                                                    "max-file": w.get("log-max-file", "1")})
        self.words = w
        self.sel = selectors.DefaultSelector()

    # --- the loop ---
    def serve(self) -> int:
        pidfd = os.pidfd_open(self.pid)
        for fd in self.outputs:
            os.set_blocking(fd, False)
            self.sel.register(fd, selectors.EVENT_READ, "out")
        self.listener.setblocking(False)
        self.sel.register(self.listener, selectors.EVENT_READ, "listen")
        self.sel.register(pidfd, selectors.EVENT_READ, "exit")
        exit_code: int | None = None
        deadline = 0.0
        while True:
            timeout = None if exit_code is None else max(deadline - time.monotonic(), 0)
            if exit_code is not None and (self.served or timeout == 0):
                break
            for key, _ in self.sel.select(timeout):
                kind = key.data
                if kind == "out":
                    self._read_output(int(key.fd))  # type: ignore[arg-type]
                elif kind == "listen":
                    self._accept()
                elif kind == "exit":
                    exit_code = self._reap()
                    self._drain()
                    self.sel.unregister(pidfd)
                    os.close(pidfd)
                    self._record_exit(exit_code)
                    wait = EXEC_WAIT if self.exec_mode else HOLD_WAIT
                    deadline = time.monotonic() + (wait if self.hold is not None else 0)
                elif isinstance(kind, Client):
                    self._client_input(kind)
                elif isinstance(kind, Pending):
                    self._request(kind)
        for client in list(self.clients):
            self._drop(client)
        return exit_code

    def _read_output(self, fd: int) -> None:
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno != errno.EIO:  # EIO: the pty's last slave closed
                raise
            data = b""
        if not data:
            self.sel.unregister(fd)
            self.outputs.pop(fd)
            if fd != self.stdin_w:
                os.close(fd)
            return
        self._emit(self.outputs[fd], data)

    def _emit(self, stream: str, data: bytes) -> None:
        if self.log is not None:
            self.log.write(stream, data)
        if self.hold is not None and self.held < HOLD_LIMIT:
            self.hold.append((stream, data))
            self.held += len(data)
        for client in list(self.clients):
            self._send(client, stream, data)

    def _send(self, client: Client, stream: str, data: bytes) -> None:
        index = 0 if stream == "stdout" else 1
        if not client.streams[index]:
            return
        try:
            client.sock.sendall(data if self.tty else frame(index + 1, data))
        except OSError:
            self._drop(client)

    def _drain(self) -> None:
        """After exit: what is still in the pipes, without waiting on a straggler that holds them open."""
        for fd in list(self.outputs):
            while fd in self.outputs:
                try:
                    data = os.read(fd, READ_SIZE)
                except OSError:
                    break
                if not data:
                    break
                self._emit(self.outputs[fd], data)

    def _accept(self) -> None:
        """A new connection sends one JSON request line first; read it without blocking the loop."""
        try:
            sock, _ = self.listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        self.sel.register(sock, selectors.EVENT_READ, Pending(sock))

    def _request(self, pending: Pending) -> None:
        sock = pending.sock
        try:
            chunk = sock.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        pending.buf += chunk
        if b"\n" not in pending.buf:
            if not chunk or len(pending.buf) > MAX_REQUEST:
                self.sel.unregister(sock)
                sock.close()
            return
        self.sel.unregister(sock)
        sock.settimeout(SEND_TIMEOUT)  # from here on, sends to a slow client block (briefly)
        line, rest = pending.buf.split(b"\n", 1)
        try:
            req = json.loads(line)
        except ValueError:
            sock.close()
            return
        if not isinstance(req, dict):
            sock.close()
            return
        if "resize" in req:
            if self.master is not None:
                fcntl.ioctl(self.master, termios.TIOCSWINSZ,
                            struct.pack("HHHH", int(req["resize"][0]), int(req["resize"][1]), 0, 0))
            with contextlib.suppress(OSError):
                sock.sendall(b"{}\n")
            sock.close()
            return
        client = Client(sock, (bool(req.get("stdout")), bool(req.get("stderr"))), bool(req.get("stdin")))
        if self.hold is not None and not self.served and (client.streams[0] or client.streams[1]):
            self.served = True
            for stream, data in self.hold:
                self._send(client, stream, data)
            self.hold = None
        self.clients.append(client)
        self.sel.register(sock, selectors.EVENT_READ, client)
        if rest:
            self._stdin(client, rest)

    def _client_input(self, client: Client) -> None:
        try:
            data = client.sock.recv(READ_SIZE)
        except OSError:
            data = b""
        if data:
            self._stdin(client, data)
            return
        # Half-close from the client: stdin EOF for the container (a pty gets no EOF, as in Docker).
        self.sel.unregister(client.sock)
        client.reading = False
        if client.stdin and self.stdin_w is not None and not self.tty:
            os.close(self.stdin_w)
            self.stdin_w = None

    def _stdin(self, client: Client, data: bytes) -> None:
        if client.stdin and self.stdin_w is not None:
            with contextlib.suppress(OSError):
                os.write(self.stdin_w, data)

    def _drop(self, client: Client) -> None:
        if client in self.clients:
            self.clients.remove(client)
        if client.reading:
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(client.sock)
        with contextlib.suppress(OSError):
            client.sock.shutdown(socket.SHUT_RDWR)
        client.sock.close()

    def _reap(self) -> int:
        _, status = os.waitpid(self.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        return 128 - code if code < 0 else code

    def _oom_killed(self) -> bool:
        """What the oom= word names: v2 memory.events' oom_kill, v1 memory.oom_control's or failcnt."""
        version, _, where = self.words.get("oom", "").partition(":")
        if not where:
            return False
        if version == "v2":
            return _kv(Path(where) / "memory.events").get("oom_kill", 0) > 0
        control = _kv(Path(where) / "memory.oom_control")
        if "oom_kill" in control:
            return control["oom_kill"] > 0
        with contextlib.suppress(OSError, ValueError):
            return int((Path(where) / "memory.failcnt").read_text() or 0) > 0
        return False

    def _record_exit(self, exit_code: int) -> None:
        w = self.words
        if self.log is not None:
            self.log.flush()
        oom = False if self.exec_mode else self._oom_killed()
        if w.get("runc") and not self.exec_mode:
            subprocess.run([w["runc"], "--root", w["runc-root"], "delete", "--force", w["id"]],
                           capture_output=True, check=False)
        atomic_write_json(Path(w["status"]), sync=Sync.NONE, obj={
            "status": "exited", "pid": self.pid, "exit_code": exit_code, "oom_killed": oom,
            "started_at": w["started"], "finished_at": rfc3339nano(), "error": "", "monitor_pid": os.getpid(),
        })

    def close(self) -> None:
        self.listener.close()
        with contextlib.suppress(OSError):
            if os.stat(self.words["sock"]).st_ino == int(self.words["sock-ino"]):
                os.unlink(self.words["sock"])
        if self.log is not None:
            self.log.close()


def _kv(path: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].lstrip("-").isdigit():
                out[parts[0]] = int(parts[1])
    return out


def main(argv: list[str]) -> None:
    words = Words.parse(argv)
    with contextlib.suppress(OSError), open("/proc/self/comm", "w") as f:
        f.write(words.values.get("comm", "monitor-oracle"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    mon = OracleMonitor(words)
    mon.serve()
    mon.close()


if __name__ == "__main__":
    main(sys.argv[1:])
