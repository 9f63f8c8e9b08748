"""ctypes wrappers: a failing call becomes an OSError that names the call and its arguments."""

from __future__ import annotations

import errno

import pytest

from engine.kernel.syscalls import CLONE_NEWNET, LinuxSyscalls, RecordingSyscalls


def test_failing_mount_names_the_call_and_arguments(tmp_path):
    expected = r"^\[Errno \d+\] mount\('none', '/nonexistent/dir', 'tmpfs', '0x0', ''\): "
    with pytest.raises(OSError, match=expected):
        LinuxSyscalls().mount("none", "/nonexistent/dir", "tmpfs", 0, "")


def test_failing_setns_keeps_errno(tmp_path):
    plain = tmp_path / "not-a-namespace"
    plain.write_text("")
    with pytest.raises(OSError, match=r"setns\(.*not-a-namespace', '0x40000000'\)") as info:
        LinuxSyscalls().setns(str(plain), CLONE_NEWNET)
    assert info.value.errno == errno.EINVAL


def test_recording_fake_tracks_what_it_made():
    sc = RecordingSyscalls()
    sc.mkdir("/a", 0o755)
    sc.touch("/a/f")
    assert (sc.kind("/a"), sc.kind("/a/f"), sc.kind("/b")) == ("dir", "file", None)
    assert sc.names() == ["mkdir", "touch"]
