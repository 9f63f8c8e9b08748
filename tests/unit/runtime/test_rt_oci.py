"""build_spec and resolve_user: Docker's Config/HostConfig -> OCI config.json, without root."""

from __future__ import annotations

import pytest

from engine.errors import InvalidParameter
from engine.runtime import build_spec, resolve_user
from engine.runtime.caps import DEFAULT_CAPABILITIES, to_mask, tweak
from engine.runtime.users import ResolvedUser

ROOT = ResolvedUser(0, 0, (), "/root", "root")


def spec(busybox_rootfs, config=None, host=None, **kw):
    args = {
        "rootfs": busybox_rootfs,
        "mounts": [],
        "hostname": "abc",
        "cgroups_path": "/composer/x",
        "netns_path": None,
        "user": ROOT,
        **kw,
    }
    return build_spec({"Cmd": ["true"], **(config or {})}, host or {}, **args)


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("", ResolvedUser(0, 0, (10,), "/root", "root")),
        ("app", ResolvedUser(1000, 1000, (10,), "/home/app", "app")),
        ("1000", ResolvedUser(1000, 1000, (10,), "/home/app", "app")),
        ("app:wheel", ResolvedUser(1000, 10, (), "/home/app", "app")),
        ("1000:65534", ResolvedUser(1000, 65534, (), "/home/app", "app")),
        ("4242", ResolvedUser(4242, 0, (), "/", "")),
        ("4242:4343", ResolvedUser(4242, 4343, (), "/", "")),
        ("nobody:app", ResolvedUser(65534, 1000, (), "/nonexistent", "nobody")),
    ],
)
def test_resolve_user_forms(busybox_rootfs, user, expected):
    assert resolve_user(busybox_rootfs, user) == expected


def test_resolve_user_errors_use_dockers_words(busybox_rootfs):
    with pytest.raises(
        InvalidParameter, match="^unable to find user ghost: no matching entries in passwd file$"
    ):
        resolve_user(busybox_rootfs, "ghost")
    with pytest.raises(
        InvalidParameter, match="^unable to find group ghosts: no matching entries in group file$"
    ):
        resolve_user(busybox_rootfs, "app:ghosts")


def test_process_args_env_and_defaults(busybox_rootfs):
    s = spec(
        busybox_rootfs,
        {
            "Entrypoint": ["/bin/sh", "-c"],
            "Cmd": ["echo hi"],
            "Env": ["A=1", "PATH=/x"],
            "Tty": True,
            "WorkingDir": "/srv",
        },
    )
    p = s["process"]
    assert p["args"] == ["/bin/sh", "-c", "echo hi"]
    assert p["env"] == ["PATH=/x", "HOSTNAME=abc", "TERM=xterm", "A=1", "HOME=/root"]
    assert p["cwd"] == "/srv" and p["terminal"] is True
    assert p["noNewPrivileges"] is False
    assert s["hostname"] == "abc" and s["root"] == {"path": str(busybox_rootfs), "readonly": False}
    assert s["linux"]["cgroupsPath"] == "/composer/x"
    assert "/proc/timer_list" in s["linux"]["maskedPaths"] and "/proc/sys" in s["linux"]["readonlyPaths"]
    dests = [m["destination"] for m in s["mounts"]]
    assert dests == ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"]
    shm = s["mounts"][-1]
    assert "size=67108864" in shm["options"]
    assert s["linux"]["resources"]["devices"][0] == {"allow": False, "access": "rwm"}
    assert p["rlimits"][0]["type"] == "RLIMIT_NOFILE"


def test_no_command_is_an_error(busybox_rootfs):
    with pytest.raises(InvalidParameter, match="no command specified"):
        spec(busybox_rootfs, {"Cmd": None})


def test_capabilities(busybox_rootfs):
    s = spec(busybox_rootfs)
    assert to_mask(s["process"]["capabilities"]["effective"]) == 0xA80425FB
    assert tweak(["net_admin"], ["CAP_CHOWN", "kill"], False) == [
        c for c in DEFAULT_CAPABILITIES if c not in ("CAP_CHOWN", "CAP_KILL")
    ] + ["CAP_NET_ADMIN"]
    assert tweak(["NET_ADMIN"], ["ALL"], False) == ["CAP_NET_ADMIN"]
    assert "CAP_SYS_ADMIN" in tweak(["ALL"], ["CAP_CHOWN"], False)
    assert "CAP_CHOWN" not in tweak(["ALL"], ["CAP_CHOWN"], False)
    assert "CAP_SYS_ADMIN" in tweak([], [], True)
    with pytest.raises(InvalidParameter, match='unknown capability: "CAP_BOGUS"'):
        tweak(["bogus"], [], False)


def test_resources(busybox_rootfs):
    mib = 1024 * 1024
    s = spec(
        busybox_rootfs,
        host={
            "Memory": 64 * mib,
            "NanoCpus": 1_500_000_000,
            "CpuShares": 512,
            "CpusetCpus": "0",
            "PidsLimit": 100,
        },
    )
    res = s["linux"]["resources"]
    assert res["memory"] == {"limit": 64 * mib, "swap": 128 * mib}
    assert res["cpu"] == {"period": 100000, "quota": 150000, "shares": 512, "cpus": "0"}
    assert res["pids"] == {"limit": 100}
    assert (
        spec(busybox_rootfs, host={"Memory": mib, "MemorySwap": -1})["linux"]["resources"]["memory"]["swap"]
        == -1
    )
    with pytest.raises(InvalidParameter, match="Nano CPUs"):
        spec(busybox_rootfs, host={"NanoCpus": 1, "CpuPeriod": 1000})


def test_namespaces_and_modes(busybox_rootfs):
    types = [n["type"] for n in spec(busybox_rootfs)["linux"]["namespaces"]]
    assert {"mount", "pid", "ipc", "uts", "network"} <= set(types)
    host = spec(busybox_rootfs, host={"NetworkMode": "host", "PidMode": "host", "IpcMode": "host"})
    assert {n["type"] for n in host["linux"]["namespaces"]} & {"network", "pid", "ipc"} == set()
    joined = spec(busybox_rootfs, netns_path="/run/netns/x")["linux"]["namespaces"]
    assert {"type": "network", "path": "/run/netns/x"} in joined
    assert {"type": "cgroup"} in spec(busybox_rootfs, host={"CgroupnsMode": "private"})["linux"]["namespaces"]


def test_security_options_and_privileged(busybox_rootfs):
    s = spec(busybox_rootfs, host={"SecurityOpt": ["no-new-privileges:true"], "ReadonlyRootfs": True})
    assert s["process"]["noNewPrivileges"] is True and s["root"]["readonly"] is True
    p = spec(busybox_rootfs, host={"Privileged": True})
    assert p["linux"]["maskedPaths"] == [] and p["linux"]["readonlyPaths"] == []
    assert "CAP_SYS_ADMIN" in p["process"]["capabilities"]["bounding"]
    assert "ro" not in next(m for m in p["mounts"] if m["destination"] == "/sys")["options"]


def test_ulimits_sysctls_user_and_groups(busybox_rootfs):
    s = spec(
        busybox_rootfs,
        host={
            "Ulimits": [{"Name": "nproc", "Soft": 10, "Hard": 20}],
            "Sysctls": {"net.ipv4.ip_forward": 1},
            "GroupAdd": ["wheel", "4000"],
        },
        user=resolve_user(busybox_rootfs, "app"),
    )
    assert {"type": "RLIMIT_NPROC", "soft": 10, "hard": 20} in s["process"]["rlimits"]
    assert s["linux"]["sysctl"] == {"net.ipv4.ip_forward": "1"}
    assert s["process"]["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [10, 4000]}
    with pytest.raises(InvalidParameter, match="invalid ulimit type: bogus"):
        spec(busybox_rootfs, host={"Ulimits": [{"Name": "bogus", "Soft": 1, "Hard": 1}]})


def test_user_mount_replaces_default_and_init(busybox_rootfs):
    mounts = [{"destination": "/dev/shm", "type": "bind", "source": "/dev/shm", "options": ["rbind"]}]
    s = spec(busybox_rootfs, mounts=mounts, host={"Init": True})
    shm = [m for m in s["mounts"] if m["destination"] == "/dev/shm"]
    assert shm == mounts
    assert s["process"]["args"] == ["/sbin/docker-init", "--", "true"]
    assert any(m["destination"] == "/sbin/docker-init" for m in s["mounts"])


def test_devices_and_device_cgroup_rules(busybox_rootfs):
    s = spec(busybox_rootfs, host={"Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/n",
                                                "CgroupPermissions": "rw"}],
                                   "DeviceCgroupRules": ["c 10:* rmw", "a *:* m"]})
    got = [(d["path"], d["type"], d["major"], d["minor"]) for d in s["linux"]["devices"]]
    assert got == [("/dev/n", "c", 1, 3)]
    rules = s["linux"]["resources"]["devices"]
    assert rules[-3:] == [{"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"},
                          {"allow": True, "type": "c", "major": 10, "access": "rmw"},
                          {"allow": True, "type": "a", "access": "m"}]
    with pytest.raises(InvalidParameter, match="invalid device cgroup rule format: 'x 1:2 r'"):
        spec(busybox_rootfs, host={"DeviceCgroupRules": ["x 1:2 r"]})
    with pytest.raises(InvalidParameter, match='adding custom device "/dev/nope": no such file or directory'):
        spec(busybox_rootfs, host={"Devices": [{"PathOnHost": "/dev/nope"}]})


def test_seccomp_default_unconfined_and_custom(busybox_rootfs):
    profile = spec(busybox_rootfs)["linux"]["seccomp"]
    assert profile["defaultAction"] == "SCMP_ACT_ALLOW"
    denied = profile["syscalls"][0]["names"]
    assert {"keyctl", "mount", "reboot", "init_module"} <= set(denied)
    assert "seccomp" not in spec(busybox_rootfs, host={"SecurityOpt": ["seccomp:unconfined"]})["linux"]
    assert "seccomp" not in spec(busybox_rootfs, host={"Privileged": True})["linux"]
    admin = spec(busybox_rootfs, host={"CapAdd": ["SYS_ADMIN"]})["linux"]["seccomp"]
    assert "mount" not in admin["syscalls"][0]["names"] and len(admin["syscalls"]) == 1
    custom = spec(busybox_rootfs, host={"SecurityOpt": ['seccomp={"defaultAction": "SCMP_ACT_ERRNO"}']})
    assert custom["linux"]["seccomp"] == {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []}
    with pytest.raises(InvalidParameter, match="invalid seccomp profile: Decoding seccomp profile failed"):
        spec(busybox_rootfs, host={"SecurityOpt": ["seccomp={"]})


def test_seccomp_program_shape():
    from engine.runtime import seccomp

    profile = seccomp.default_profile(["CAP_CHOWN"])
    prog = seccomp.compile_filter(profile, "x86_64")
    assert len(prog) % 8 == 0
    first = prog[:8]
    assert first == bytes([0x20, 0, 0, 0, 4, 0, 0, 0])  # load the arch word first
    assert prog[-8:] == bytes([0x06, 0, 0, 0]) + (0x7FFF0000).to_bytes(4, "little")  # default: allow
    with pytest.raises(ValueError, match="unknown seccomp action"):
        seccomp.compile_filter({"defaultAction": "SCMP_ACT_NONE"}, "x86_64")
