"""console.py on the host's own devpts: a pty pair by path, and the master handed over a unix socket."""

from __future__ import annotations

import os
import socket

from engine.runtime import console


def test_new_pty_opens_a_pair_named_by_its_number() -> None:
    master, slave, path = console.new_pty("/dev/pts")
    try:
        assert path.startswith("/dev/pts/") and path.rsplit("/", 1)[1].isdigit()
        assert os.path.samestat(os.fstat(slave), os.stat(path))
        os.write(slave, b"hi\n")
        assert os.read(master, 64) == b"hi\r\n"  # a fresh pty is in cooked mode (ONLCR)
    finally:
        os.close(master)
        os.close(slave)


def test_master_travels_to_the_monitor() -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    master, slave, _path = console.new_pty("/dev/pts")
    try:
        console.send_master(theirs.fileno(), master)  # closes the sender's copy
        received = console.receive_master(ours)
        assert received is not None
        os.write(slave, b"x")
        assert os.read(received, 8) == b"x"
        os.close(received)
    finally:
        os.close(slave)
        ours.close()
        theirs.close()


def test_nothing_sent_is_none() -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with ours, theirs:
        assert console.receive_master(ours) is None
