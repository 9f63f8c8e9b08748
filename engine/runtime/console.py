"""The TTY of a container or exec: a pty of the container's own devpts instance, as runc makes it.

The pty is allocated inside the init child (after the container's /dev/pts is mounted, or after an exec
joined the mount namespace), so `tty` in the container names /dev/pts/N of its own devpts instead of a
host pty. The master goes back to the monitor over a unix socket (SCM_RIGHTS), as runc's console socket;
the slave becomes the child's stdio and controlling terminal.
"""

from __future__ import annotations

import fcntl
import os
import socket
import struct
import termios

_TIOCSPTLCK = 0x40045431  # unlock the slave of a new master (unlockpt)
_TIOCGPTN = 0x80045430  # the slave's number (ptsname)


def new_pty(pts_dir: str) -> tuple[int, int, str]:
    """Open a master on `pts_dir`/ptmx: (master, slave, slave path). Neither becomes a controlling TTY."""
    master = os.open(os.path.join(pts_dir, "ptmx"), os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        fcntl.ioctl(master, _TIOCSPTLCK, struct.pack("i", 0))
        number = struct.unpack("I", fcntl.ioctl(master, _TIOCGPTN, b"\0" * 4))[0]
        path = os.path.join(pts_dir, str(number))
        slave = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        os.close(master)
        raise
    return master, slave, path


def send_master(console_sock: int, master: int) -> None:
    """Hand the master to the monitor (which reads it once the child has exec'd) and close ours."""
    with socket.socket(fileno=os.dup(console_sock)) as sock:
        socket.send_fds(sock, [b"pty"], [master])
    os.close(master)


def receive_master(sock: socket.socket) -> int | None:
    """The monitor's half: the master the child sent, or None if it sent none (it failed first)."""
    sock.setblocking(False)
    try:
        _msg, fds, _flags, _addr = socket.recv_fds(sock, 16, 1)
    except BlockingIOError:
        return None
    return fds[0] if fds else None


def take_as_stdio(slave: int, uid: int) -> None:
    """The slave on 0-2 and as controlling terminal (we are a session leader without one). Owned by the
    process's user, so a non-root program may reopen its own terminal (runc fixes stdio the same way)."""
    if uid:
        os.fchown(slave, uid, -1)
    for target in range(3):
        os.dup2(slave, target, inheritable=True)
    if slave > 2:
        os.close(slave)
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
