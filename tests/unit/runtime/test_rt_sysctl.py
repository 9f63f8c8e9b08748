"""runc's sysctl rules: what each namespace of the container's own lets it set."""

from __future__ import annotations

import pytest

from engine.errors import InvalidParameter
from engine.runtime import sysctl

ALL_OWN = {"own_ipc": True, "own_net": True, "own_uts": True}


@pytest.mark.parametrize(
    "key",
    ["kernel.msgmax", "kernel.sem", "kernel.shm_rmid_forced", "fs.mqueue.msg_max", "net.core.somaxconn"],
)
def test_namespaced_keys_pass_with_own_namespaces(key: str) -> None:
    assert sysctl.refusal(key, **ALL_OWN) is None


@pytest.mark.parametrize(
    ("key", "shared", "reason"),
    [
        ("kernel.shmmax", "own_ipc", 'sysctl "kernel.shmmax" is not allowed in the hosts ipc namespace'),
        (
            "fs.mqueue.queues_max",
            "own_ipc",
            'sysctl "fs.mqueue.queues_max" is not allowed in the hosts ipc namespace',
        ),
        (
            "net.ipv4.ip_forward",
            "own_net",
            'sysctl "net.ipv4.ip_forward" not allowed in host network namespace',
        ),
        ("kernel.domainname", "own_uts", 'sysctl "kernel.domainname" is not in a separate kernel namespace'),
    ],
)
def test_host_namespaces_refuse_their_keys(key: str, shared: str, reason: str) -> None:
    assert sysctl.refusal(key, **{**ALL_OWN, shared: False}) == reason


@pytest.mark.parametrize("key", ["vm.swappiness", "kernel.pid_max", "fs.file-max", "kernel.msgmaxx"])
def test_global_keys_always_refused(key: str) -> None:
    assert sysctl.refusal(key, **ALL_OWN) == f'sysctl "{key}" is not in a separate kernel namespace'


@pytest.mark.parametrize("key", ["net.ipv4/../../vm.swappiness", "net..x", "", "net", "net.ipv4.conf.all/x"])
def test_keys_that_could_climb_out_are_refused(key: str) -> None:
    assert sysctl.refusal(key, **ALL_OWN) == f"invalid sysctl key {key!r}"


def test_check_spec_uses_the_bundles_namespaces() -> None:
    linux = {"namespaces": [{"type": "mount"}, {"type": "ipc"}], "sysctl": {"net.ipv4.ip_forward": "1"}}
    with pytest.raises(InvalidParameter, match="host network namespace"):
        sysctl.check_spec(linux)
    linux["namespaces"].append({"type": "network", "path": "/proc/self/ns/net"})  # the engine's own: host's
    with pytest.raises(InvalidParameter, match="host network namespace"):
        sysctl.check_spec(linux)
    linux["namespaces"][-1] = {"type": "network"}
    sysctl.check_spec(linux)
