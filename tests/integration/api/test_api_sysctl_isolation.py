"""Sysctls never reach the host: only the parameters the container's own namespaces isolate are accepted
(runc's rules, refused at create with runc's wording), the host's values stay as they were, and the
read-only /proc submounts keep proc's nosuid,nodev,noexec as runc's do."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tests.support.engine import EngineProcess

pytestmark = pytest.mark.root

# keys whose host values the refused requests below would have changed
WATCHED = ("vm.swappiness", "net.ipv4.ip_forward", "kernel.shmmax", "kernel.domainname", "fs.file-max")


def _host(key: str) -> str:
    return Path("/proc/sys", key.replace(".", "/")).read_text()


def _create(engine: EngineProcess, sysctls: dict[str, str], **hc: object) -> tuple[int, str, str]:
    body = {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"Sysctls": sysctls, **hc}}
    r = engine.request("POST", "/containers/create", body)
    return r.status, r.message, (r.json().get("Id", "") if r.status == 201 else "")


def _output(engine: EngineProcess, cmd: list[str], **hc: object) -> str:
    cid = engine.run(cmd, HostConfig=hc)
    assert engine.json("POST", f"/containers/{cid}/wait")["StatusCode"] == 0
    data = engine.request("GET", f"/containers/{cid}/logs?stdout=1&stderr=1").body
    text = b""
    while data:
        size = struct.unpack(">I", data[4:8])[0]
        text += data[8 : 8 + size]
        data = data[8 + size :]
    return text.decode()


@pytest.mark.parametrize(
    ("sysctls", "hc", "message"),
    [
        ({"vm.swappiness": "1"}, {}, 'sysctl "vm.swappiness" is not in a separate kernel namespace'),
        ({"fs.file-max": "1"}, {}, 'sysctl "fs.file-max" is not in a separate kernel namespace'),
        (
            {"net.ipv4.ip_forward": "0"},
            {"NetworkMode": "host"},
            'sysctl "net.ipv4.ip_forward" not allowed in host network namespace',
        ),
        (
            {"kernel.shmmax": "4096"},
            {"IpcMode": "host"},
            'sysctl "kernel.shmmax" is not allowed in the hosts ipc namespace',
        ),
        (
            {"kernel.domainname": "x"},
            {"UTSMode": "host"},
            'sysctl "kernel.domainname" is not in a separate kernel namespace',
        ),
        (
            {"kernel.hostname": "x"},
            {},
            'sysctl "kernel.hostname" is not allowed as it conflicts with the OCI "hostname" field',
        ),
        ({"net.ipv4/../../vm.swappiness": "1"}, {}, "invalid sysctl key 'net.ipv4/../../vm.swappiness'"),
        (
            {"net.ipv4.ip_forward": 1},
            {},
            "json: cannot unmarshal number into Go struct field HostConfig.HostConfig.Sysctls of type string",
        ),
    ],
)
def test_refused_at_create_and_host_unchanged(
    engine: EngineProcess, sysctls: dict[str, str], hc: dict[str, object], message: str
) -> None:
    before = {key: _host(key) for key in WATCHED}
    status, msg, _ = _create(engine, sysctls, **hc)
    assert (status, msg) == (400, message)
    assert not engine.json("GET", "/containers/json?all=1")  # nothing stored
    assert {key: _host(key) for key in WATCHED} == before


def test_namespaced_ones_apply_inside_only(engine: EngineProcess) -> None:
    before = {key: _host(key) for key in WATCHED}
    flip = "0" if before["net.ipv4.ip_forward"].strip() == "1" else "1"
    out = _output(
        engine,
        [
            "sh",
            "-c",
            "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax /proc/sys/kernel/domainname"
            " /proc/sys/fs/mqueue/msg_max",
        ],
        Sysctls={
            "net.ipv4.ip_forward": flip,
            "kernel.shmmax": "123456789",
            "kernel.domainname": "inside.example",
            "fs.mqueue.msg_max": "33",
        },
        NetworkMode="none",
    )
    assert out.split() == [flip, "123456789", "inside.example", "33"]
    assert {key: _host(key) for key in WATCHED} == before


def test_a_stored_record_with_a_host_sysctl_does_not_start(engine: EngineProcess) -> None:
    """A container stored before create checked sysctls (older engine) is refused when its bundle is built."""
    status, _, cid = _create(engine, {"kernel.shmmax": "4096"})
    assert status == 201
    engine.stop()
    hostconfig = engine.data_root / "containers" / cid / "hostconfig.json"
    text = hostconfig.read_text()
    assert '"kernel.shmmax"' in text
    hostconfig.write_text(text.replace('"kernel.shmmax"', '"vm.swappiness"'))
    engine.start()
    before = _host("vm.swappiness")
    r = engine.request("POST", f"/containers/{cid}/start")
    assert r.status >= 400 and 'sysctl "vm.swappiness" is not in a separate kernel namespace' in r.message
    assert _host("vm.swappiness") == before


def test_readonly_proc_submounts_keep_nosuid_nodev_noexec(engine: EngineProcess) -> None:
    out = _output(engine, ["cat", "/proc/self/mountinfo"], NetworkMode="none")
    options = {}
    for line in out.splitlines():
        fields = line.split()
        options[fields[4]] = set(fields[5].split(","))
    # /proc/sysrq-trigger exists only on kernels with CONFIG_MAGIC_SYSRQ (not this machine's)
    for path in ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"):
        if path in options:
            assert {"ro", "nosuid", "nodev", "noexec"} <= options[path], (path, options[path])
    assert "/proc/sys" in options, out
