"""--userns-remap's ids: the user's (or uid's) first /etc/subuid range and its group's /etc/subgid range,
dockerd's messages when there are none, and the spec's user namespace with those mappings."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import ConfigError, parse
from engine.containers.userns import load
from engine.kernel.idmap import Remap, apply_to_spec
from engine.runtime.monitor import IdMaps, StartError


def test_first_ranges_by_name_or_number(tmp_path: Path) -> None:
    subuid, subgid = tmp_path / "subuid", tmp_path / "subgid"
    subuid.write_text("someone:100000:65536\n0:200000:65536\nroot:300000:1000\n")
    subgid.write_text("root:500000:65536\n")
    assert load("root", subuid, subgid) == Remap("root", 200000, 65536, 500000, 65536)
    assert load("0:root", subuid, subgid).uid_start == 200000


def test_missing_ranges_are_dockerds_errors(tmp_path: Path) -> None:
    subuid, subgid = tmp_path / "subuid", tmp_path / "subgid"
    subuid.write_text("")
    subgid.write_text("root:500000:65536\n")
    with pytest.raises(ConfigError, match='No subuid ranges found for user "root"'):
        load("root", subuid, subgid)
    subuid.write_text("root:1:2\n")
    with pytest.raises(ConfigError, match='No subgid ranges found for group "nosuchgroup-i13"'):
        load("root:nosuchgroup-i13", subuid, subgid)
    with pytest.raises(ConfigError, match="user nosuchuser-i13 not found"):
        load("nosuchuser-i13", subuid, subgid)


def test_the_spec_gets_a_user_namespace_first() -> None:
    spec = {"linux": {"namespaces": [{"type": "mount"}, {"type": "network", "path": "/x"}]}}
    apply_to_spec(spec, Remap("u", 100000, 65536, 200000, 1000))
    assert spec["linux"]["namespaces"][0] == {"type": "user"}
    assert spec["linux"]["uidMappings"] == [{"containerID": 0, "hostID": 100000, "size": 65536}]
    assert spec["linux"]["gidMappings"] == [{"containerID": 0, "hostID": 200000, "size": 1000}]


def test_remap_works_with_either_runtime() -> None:
    """The built-in runtime makes user namespaces itself: no OCI runtime binary is needed."""
    assert parse(["--userns-remap", "default"]).userns_remap == "default"
    assert parse(["--userns-remap", "default", "--default-runtime", "runc"]).userns_remap == "default"
    with pytest.raises(ConfigError, match="unknown runtime specified nosuch"):
        parse(["--default-runtime", "nosuch"])


def test_the_monitor_writes_the_specs_maps() -> None:
    """/proc/<pid>/uid_map and gid_map lines from the spec; the host ids of container root."""
    spec = apply_to_spec({"linux": {"namespaces": []}}, Remap("u", 100000, 65536, 200000, 1000))
    maps = IdMaps.of(spec["linux"])
    assert (maps.uid_map, maps.gid_map) == ("0 100000 65536\n", "0 200000 1000\n")
    assert (maps.host_root_uid, maps.host_root_gid) == (100000, 200000)
    with pytest.raises(StartError, match="maps no root"):
        IdMaps.of({"uidMappings": [{"containerID": 1, "hostID": 5, "size": 1}], "gidMappings": []})


def test_on_the_engines_network_sys_is_the_hosts_bound() -> None:
    """A joined network namespace is the host user namespace's: sysfs cannot be mounted from the remapped
    one there, so /sys becomes a read-only rbind of the host's (both runtimes then start)."""
    sysfs = {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "ro"]}
    joined = {"linux": {"namespaces": [{"type": "network", "path": "/run/netns/x"}]}, "mounts": [sysfs]}
    apply_to_spec(joined, Remap("u", 100000, 65536, 100000, 65536))
    assert joined["mounts"] == [
        {"destination": "/sys", "type": "bind", "source": "/sys", "options": ["rbind", "nosuid", "ro"]}
    ]
    own = {"linux": {"namespaces": [{"type": "network"}]}, "mounts": [sysfs]}
    apply_to_spec(own, Remap("u", 100000, 65536, 100000, 65536))
    assert own["mounts"] == [sysfs]  # its own network namespace: its own sysfs
