"""--userns-remap's ids: the user's (or uid's) first /etc/subuid range and its group's /etc/subgid range,
dockerd's messages when there are none, and the spec's user namespace with those mappings."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import ConfigError, parse
from engine.containers.userns import load
from engine.runtime.idmap import Remap, apply_to_spec


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


def test_remap_needs_a_runtime_binary() -> None:
    with pytest.raises(ConfigError, match="--userns-remap needs an OCI runtime binary"):
        parse(["--userns-remap", "default"])
    assert parse(["--userns-remap", "default", "--default-runtime", "runc"]).userns_remap == "default"
