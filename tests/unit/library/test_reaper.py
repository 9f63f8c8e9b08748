"""Owner labels: a live owner (this process) is not an orphan; a process that exited, a reused pid (other
start time) are; an owner on another host is never judged from here."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from composer.reaper import is_orphaned, owner_label


def test_owner_of_this_process_is_alive() -> None:
    label = owner_label()
    host, pid, started = label.split("/")
    assert (host, int(pid)) == (socket.gethostname(), os.getpid()) and started.isdigit()
    assert not is_orphaned(label)


def test_exited_owner_and_reused_pid_are_orphans() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        label = owner_label(child.pid)
        assert not is_orphaned(label)
        host, pid, started = label.split("/")
        assert is_orphaned(f"{host}/{pid}/{int(started) - 1}")  # same pid, another process's start time
    finally:
        child.kill()
        child.wait()
    assert is_orphaned(label)


def test_other_hosts_and_malformed_labels_are_left_alone() -> None:
    assert not is_orphaned("some-other-host/1/1")
    assert not is_orphaned(f"{socket.gethostname()}/not-a-pid/1")
    assert not is_orphaned("")
