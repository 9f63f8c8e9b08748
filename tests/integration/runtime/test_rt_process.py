"""The built-in runtime runs busybox containers: output, exit codes, identity, isolation, limits."""

from __future__ import annotations

import os
import signal

import pytest

from engine.errors import InvalidParameter, SystemError_

pytestmark = pytest.mark.root


def test_echo_goes_to_the_json_log_by_stream(box):
    state, _ = box.run(["sh", "-c", "echo hello; echo oops >&2"])
    assert state.status == "exited" and state.exit_code == 0
    assert box.output(stream="stdout") == "hello\n"
    assert box.output(stream="stderr") == "oops\n"
    assert state.started_at.endswith("Z") and state.finished_at


@pytest.mark.parametrize(
    ("cmd", "code"), [(["true"], 0), (["sh", "-c", "exit 1"], 1), (["sh", "-c", "exit 42"], 42)]
)
def test_exit_codes(box, cmd, code):
    state, _ = box.run(cmd)
    assert state.exit_code == code


def test_command_not_found_is_127_and_reported_to_start(box):
    with pytest.raises(InvalidParameter, match=r'exec: "nosuchcmd": executable file not found in \$PATH'):
        box.start(["nosuchcmd"])
    state = box.rt.state("c1")
    assert (state.status, state.exit_code) == ("exited", 127)
    assert "executable file not found" in state.error


def test_not_executable_is_126(box):
    with pytest.raises(InvalidParameter, match="permission denied"):
        box.start(["/etc/passwd"])
    assert box.rt.state("c1").exit_code == 126


def test_sigkill_is_137(box):
    state = box.start(["sleep", "100"])
    assert state.status == "running" and state.pid > 0
    box.rt.kill("c1", signal.SIGKILL)
    assert box.wait().exit_code == 137


def test_env_cwd_and_user(box):
    state, out = box.run(
        ["sh", "-c", 'echo "$FOO|$(pwd)|$(id -u)|$(id -g)|$(id -G)|$HOME|$HOSTNAME|$PATH"'],
        config={"Env": ["FOO=bar"], "WorkingDir": "/work/dir", "User": "app"},
    )
    assert state.exit_code == 0
    foo, cwd, uid, gid, groups, home, hostname, path = out.strip().split("|")
    assert (foo, cwd, uid, gid, home, hostname) == ("bar", "/work/dir", "1000", "1000", "/home/app", "c1")
    assert set(groups.split()) == {"1000", "10"}  # primary + supplementary "wheel" from /etc/group
    assert path == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def test_hostname_and_pid1_is_the_command(box):
    _, out = box.run(["sh", "-c", "hostname; echo $$; cat /proc/1/cmdline | tr '\\0' ' '"], cid="myhost")
    hostname, pid, cmdline = out.splitlines()
    assert hostname == "myhost" and pid == "1"
    assert cmdline.startswith("sh -c hostname")


def test_init_runs_a_reaper_as_pid1(box):
    _, out = box.run(["sh", "-c", "echo $$; cat /proc/1/cmdline | tr '\\0' ' '"], host={"Init": True})
    pid, cmdline = out.splitlines()
    assert pid != "1"
    assert cmdline.startswith("/sbin/docker-init -- sh -c")


def test_new_namespaces(box):
    names = ["mnt", "pid", "uts", "ipc", "net"]
    _, out = box.run(
        [
            "sh",
            "-c",
            "for n in " + " ".join(names) + "; do readlink /proc/self/ns/$n; done; "
            "cat /sys/class/net/lo/operstate; ls /sys/class/net",
        ]
    )
    lines = out.splitlines()
    inside = lines[:5]
    for name, link in zip(names, inside, strict=True):
        assert link != os.readlink(f"/proc/self/ns/{name}"), name
    assert lines[5] in ("unknown", "up")  # loopback is up (lo reports "unknown")
    assert lines[6:] == ["lo"]


def test_host_network_keeps_the_host_netns(box):
    _, out = box.run(["readlink", "/proc/self/ns/net"], host={"NetworkMode": "host"})
    assert out.strip() == os.readlink("/proc/self/ns/net")


def test_proc_sys_readonly_and_masked_paths(box):
    script = (
        "grep -E ' /sys | /proc/sys ' /proc/mounts | awk '{print $2, substr($4,1,2)}'; "
        "touch /sys/x 2>/dev/null || echo sys-ro; "
        "{ echo 1 > /proc/sys/kernel/shm_rmid_forced; } 2>/dev/null || echo procsys-ro; "
        "wc -c < /proc/timer_list; wc -c < /proc/interrupts; ls /sys/firmware | wc -l"
    )
    box.run(["sh", "-c", script])
    lines = box.output(stream="stdout").splitlines()
    assert "/sys ro" in lines and "/proc/sys ro" in lines
    assert "sys-ro" in lines and "procsys-ro" in lines
    assert lines[-3:] == ["0", "0", "0"]  # files masked by /dev/null, /sys/firmware an empty tmpfs


def _cap_eff(out: str) -> int:
    return int(next(line for line in out.splitlines() if line.startswith("CapEff")).split()[1], 16)


def test_default_capabilities_are_dockers(box):
    _, out = box.run(["grep", "Cap", "/proc/1/status"])
    assert _cap_eff(out) == 0xA80425FB


def test_cap_drop_all_and_cap_add(box):
    _, out = box.run(["grep", "Cap", "/proc/1/status"], host={"CapDrop": ["ALL"], "CapAdd": ["NET_ADMIN"]})
    assert _cap_eff(out) == 1 << 12
    assert "CapBnd:\t0000000000001000" in out


def test_non_root_user_has_no_effective_caps(box):
    _, out = box.run(["grep", "Cap", "/proc/self/status"], config={"User": "1000"})
    assert _cap_eff(out) == 0
    assert "CapBnd:\t00000000a80425fb" in out


def test_readonly_rootfs(box):
    state, out = box.run(
        ["sh", "-c", "touch /x 2>/dev/null || echo ro; touch /dev/shm/y && echo shm-rw"],
        host={"ReadonlyRootfs": True},
    )
    assert out.split() == ["ro", "shm-rw"]


def test_memory_limit_oom_kill_is_flagged(box):
    mib = 1024 * 1024
    state, _ = box.run(
        ["sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; tail /dev/zero"],
        host={"Memory": 16 * mib, "MemorySwap": 16 * mib},
    )
    assert state.exit_code == 137
    assert state.oom_killed is True
    assert box.output().splitlines()[0] == str(16 * mib)


def test_pids_limit(box):
    script = "cat /sys/fs/cgroup/pids/pids.max; for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; wait"
    state, out = box.run(["sh", "-c", script], host={"PidsLimit": 4})
    assert out.splitlines()[0] == "4"
    assert "can't fork" in out or "Resource temporarily unavailable" in out


def test_rlimits_and_sysctls(box):
    _, out = box.run(
        ["sh", "-c", "ulimit -n; ulimit -Hn; cat /proc/sys/net/ipv4/ip_forward"],
        host={
            "Ulimits": [{"Name": "nofile", "Soft": 512, "Hard": 1024}],
            "Sysctls": {"net.ipv4.ip_forward": "1"},
        },
    )
    assert out.split() == ["512", "1024", "1"]


def test_bind_mount_and_shm_size(box, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "f").write_text("from host\n")
    mounts = [
        {"destination": "/data", "type": "bind", "source": str(tmp_path / "data"), "options": ["rbind", "ro"]}
    ]
    _, out = box.run(
        ["sh", "-c", "cat /data/f; touch /data/g 2>/dev/null || echo ro; df -k /dev/shm | tail -1"],
        mounts=mounts,
        host={"ShmSize": 8 * 1024 * 1024},
    )
    lines = out.splitlines()
    assert lines[:2] == ["from host", "ro"]
    assert lines[2].split()[1] == "8192"


def test_start_after_exit_reuses_the_id(box):
    box.run(["true"])
    state, _ = box.run(["sh", "-c", "exit 3"])
    assert state.exit_code == 3


def test_join_another_containers_network_namespace(box):
    first = box.start(["sleep", "100"], cid="netowner")
    _, out = box.run(["readlink", "/proc/self/ns/net"], cid="joiner", netns_path=f"/proc/{first.pid}/ns/net")
    assert out.strip() == os.readlink(f"/proc/{first.pid}/ns/net")


def test_dev_nodes_and_links(box):
    script = ("echo x > /dev/null && head -c 5 /dev/urandom | wc -c && head -c 3 /dev/zero | wc -c; "
              "ls /dev | tr '\\n' ' '; echo; readlink /dev/ptmx; readlink /dev/fd")
    state, out = box.run(["sh", "-c", script])
    assert state.exit_code == 0
    lines = out.splitlines()
    assert lines[:2] == ["5", "3"]
    assert {"null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue", "stdout"} <= \
        set(lines[2].split())
    assert "console" not in lines[2].split()  # only a TTY container gets /dev/console
    assert lines[3:5] == ["pts/ptmx", "/proc/self/fd"]


def test_mount_onto_a_symlink_follows_it_inside_the_rootfs(box, tmp_path):
    (box.rootfs / "etc/resolv.conf").symlink_to("/run/resolv.conf")
    (tmp_path / "resolv").write_text("nameserver 127.0.0.53\n")
    mounts = [{"destination": "/etc/resolv.conf", "type": "bind", "source": str(tmp_path / "resolv"),
               "options": ["rbind", "ro"]}]
    _, out = box.run(["cat", "/etc/resolv.conf"], mounts=mounts)
    assert out == "nameserver 127.0.0.53\n"


def test_bad_log_options_and_start_failures_are_reported(box):
    with pytest.raises(InvalidParameter, match="invalid json-file log options"):
        box.start(["true"], log_opts={"max-size": "lots"})
    bad = [{"destination": "/x", "type": "bind", "source": "/nonexistent/src", "options": ["rbind"]}]
    expected = 'error mounting "/nonexistent/src" to rootfs at "/x": no such file or directory'
    with pytest.raises(SystemError_, match=expected):
        box.start(["true"], cid="badmount", mounts=bad)
    state = box.rt.state("badmount")
    assert (state.status, state.exit_code, state.error) == ("exited", 128, expected)


def test_join_another_containers_pid_and_ipc_namespaces(box):
    first = box.start(["sleep", "100"], cid="owner")
    joined = {"pid": f"/proc/{first.pid}/ns/pid", "ipc": f"/proc/{first.pid}/ns/ipc"}
    script = "readlink /proc/self/ns/pid; readlink /proc/self/ns/ipc; cat /proc/1/cmdline"
    _, out = box.run(["sh", "-c", script], cid="guest", ns_paths=joined)
    pid_ns, ipc_ns, init_cmd = out.splitlines()
    assert pid_ns == os.readlink(f"/proc/{first.pid}/ns/pid")
    assert ipc_ns == os.readlink(f"/proc/{first.pid}/ns/ipc")
    assert init_cmd == "sleep\x00100\x00"  # the owner's init is PID 1 for the guest too


def test_host_device_and_device_cgroup(box):
    devices = [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/mynull", "CgroupPermissions": "rwm"}]
    script = ("echo x > /dev/mynull && stat -c '%F %t:%T' /dev/mynull; "
              "mknod /tmp/loop b 7 0 && { cat /tmp/loop 2>&1 | head -c 200; echo; }")
    state, out = box.run(["sh", "-c", script], host={"Devices": devices})
    lines = out.splitlines()
    assert lines[0] == "character special file 1:3"
    assert "Operation not permitted" in lines[1]  # mknod allowed ("m"); opening a non-allowed device not


def test_privileged_gets_host_devices_and_all_caps(box):
    _, out = box.run(["sh", "-c", "ls /dev; grep CapEff /proc/self/status; touch /sys/x 2>&1 | head -c 0; "
                      "cat /dev/loop0 >/dev/null 2>&1 && echo loop-readable"], host={"Privileged": True})
    names = out.split()
    assert "loop0" in names and "fuse" in names and "null" in names
    with open("/proc/self/status") as f:
        held = next(int(line.split()[1], 16) for line in f if line.startswith("CapBnd:"))
    assert _cap_eff(out) == held  # everything the engine holds


@pytest.mark.parametrize(("host", "expected"), [
    ({}, "denied"),
    ({"SecurityOpt": ["seccomp=unconfined"]}, "allowed"),
    ({"CapAdd": ["SYS_ADMIN"]}, "allowed"),
])
def test_seccomp_blocks_namespace_creation_like_docker(box, host, expected):
    _, out = box.run(["sh", "-c", "unshare -U true 2>/dev/null && echo allowed || echo denied"], host=host)
    assert out.strip() == expected
