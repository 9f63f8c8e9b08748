"""Running a bundle with an OCI runtime binary (runc; crun by name) instead of the built-in init.

The monitor still holds stdio and writes the log: it is made the child subreaper so the container's
init (a child of `runc create`, which exits) is reparented to it and can be waited for.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from engine.kernel import syscalls as s
from engine.kernel.syscalls import LinuxSyscalls


class RuncError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def classify(message: str) -> int:
    """Docker's exit code for a failed start, from the runtime's message."""
    if "permission denied" in message:
        return 126
    if "executable file not found" in message or "no such file or directory" in message:
        return 127
    return 128


def _last_error(log: Path, default: str) -> str:
    message = default
    try:
        for line in log.read_text().splitlines():
            entry = json.loads(line)
            if entry.get("level") == "error":
                message = entry.get("msg", message)
    except (OSError, ValueError):
        pass
    return message


def create_and_start(binary: str, root: str, cid: str, bundle: Path, stdio: tuple[int, int, int],
                     tty: bool) -> tuple[int, int | None]:
    """`runc create` + `runc start`; returns (container pid, pty master or None). With a TTY, runc makes
    the pty itself and hands the master over a console socket, so `stdio` is then ignored."""
    LinuxSyscalls().prctl(s.PR_SET_CHILD_SUBREAPER, 1)
    log, pidfile = bundle / "runc.log", bundle / "init.pid"
    cmd = [binary, "--root", root, "--log", str(log), "--log-format", "json",
           "create", "--bundle", str(bundle), "--pid-file", str(pidfile)]
    console: socket.socket | None = None
    null = -1
    if tty:
        path = bundle / "console.sock"
        path.unlink(missing_ok=True)
        console = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        console.bind(str(path))
        console.listen(1)
        cmd += ["--console-socket", str(path)]
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        stdio = (null, null, null)
    master = None
    import subprocess  # here: only runc monitors need it; the zygote (so each monitor) stays ~0.4 MiB smaller

    try:
        proc = subprocess.Popen([*cmd, cid], stdin=stdio[0], stdout=stdio[1], stderr=stdio[2], close_fds=True)
        if console is not None:
            console.settimeout(10)
            try:
                conn, _ = console.accept()
                with conn:
                    _msg, fds, _flags, _addr = socket.recv_fds(conn, 4096, 1)
                master = fds[0] if fds else None
            except OSError:
                master = None
        if proc.wait() != 0:
            message = _last_error(log, "runc create failed")
            delete(binary, root, cid)
            raise RuncError(message.removeprefix("runc create failed: unable to start container process: "),
                            classify(message))
        pid = int(pidfile.read_text())
        started = subprocess.run([binary, "--root", root, "start", cid], capture_output=True, text=True,
                                 check=False)
        if started.returncode != 0:
            raise RuncError(started.stderr.strip() or "runc start failed", 128)
        return pid, master
    finally:
        if console is not None:
            console.close()
        if null >= 0:
            os.close(null)


def delete(binary: str, root: str, cid: str) -> None:
    import subprocess  # see create()

    subprocess.run([binary, "--root", root, "delete", "--force", cid], capture_output=True, check=False)
