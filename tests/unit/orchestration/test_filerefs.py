"""Secrets and configs, the pure part: bind mounts for file sources, the files written in for environment and
content sources (targets, owner, mode, Compose's errors), the archive sent, the digest that recreates; and
the network/volume config hashes equal to those the reference binary wrote on dockerd (values measured)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from composer import filerefs
from composer.model import Project
from composer.netplan import network_hash, volume_hash
from composer.reconcile import UpOptions, reconcile
from tests.unit.orchestration.conftest import IMAGE_ID, container, snapshot

Loader = Callable[[str], Project]

PROJECT = """
name: p1
services:
  app:
    image: busybox
    command: sleep 3600
    volumes: [cache:/run/secrets/shadowed]
    secrets:
      - envsec
      - fsec
      - {source: envsec, target: custom, uid: "100", gid: "101", mode: 0400}
      - {source: envsec, target: /abs/path}
      - {source: fsec, target: shadowed}
    configs:
      - cfile
      - ccontent
      - {source: ccontent, target: rel/cfg, mode: 0600, uid: "5"}
volumes:
  cache:
secrets:
  envsec: {environment: MYSEC}
  fsec: {file: ./s.txt}
configs:
  cfile: {file: ./c.txt}
  ccontent: {content: "hello $$x"}
"""


def test_file_sources_are_read_only_bind_mounts(load: Loader, tmp_path: Path) -> None:
    project = load(PROJECT)
    mounts = filerefs.mounts(project, project.services["app"])
    assert mounts == [
        {"Type": "bind", "Source": str(tmp_path / "s.txt"), "Target": "/run/secrets/fsec", "ReadOnly": True},
        {"Type": "bind", "Source": str(tmp_path / "c.txt"), "Target": "/cfile", "ReadOnly": True},
    ]  # the target a service volume already mounts keeps the volume, as Compose does


def test_environment_and_content_sources_are_written_in(load: Loader) -> None:
    project = load(PROJECT)
    files = filerefs.injected_files(project, project.services["app"], {"MYSEC": "topsecret"})
    assert [(f.target, f.content, f.uid, f.gid, oct(f.mode)) for f in files] == [
        ("/run/secrets/envsec", b"topsecret", 0, 0, "0o444"),
        ("/run/secrets/custom", b"topsecret", 100, 101, "0o400"),
        ("/abs/path", b"topsecret", 0, 0, "0o444"),
        ("/ccontent", b"hello $x", 0, 0, "0o444"),
        ("rel/cfg", b"hello $x", 5, 0, "0o600"),  # a config's relative target: relative to "/"
    ]
    assert [f.keeps_owner for f in files] == [False, True, False, False, True]


def test_the_archive_holds_one_file_with_its_owner_and_mode(load: Loader) -> None:
    project = load(PROJECT)
    custom = filerefs.injected_files(project, project.services["app"], {"MYSEC": "s"})[1]
    with tarfile.open(fileobj=io.BytesIO(filerefs.archive(custom))) as tar:
        (member,) = tar.getmembers()
        assert (member.name, member.uid, member.gid, member.mode, member.size) == (
            "/run/secrets/custom", 100, 101, 0o400, 1
        )  # fmt: skip
        assert tar.extractfile(member).read() == b"s"  # type: ignore[union-attr]


def test_an_unset_variable_is_composes_error(load: Loader) -> None:
    project = load(PROJECT)
    with pytest.raises(filerefs.FileRefError) as caught:
        filerefs.injected_files(project, project.services["app"], {})
    assert caught.value.message == 'environment variable "MYSEC" required by secret "p1_envsec" is not set'


def test_external_and_swarm_only_fields_are_composes_errors(load: Loader) -> None:
    project = load(
        "name: p\nservices:\n  a: {image: x, secrets: [s], configs: [c]}\n"
        "secrets:\n  s: {external: true, name: vault}\nconfigs:\n  c: {file: ./c}\n"
    )
    with pytest.raises(filerefs.FileRefError, match="^unsupported external secret vault$"):
        filerefs.mounts(project, project.services["a"])
    project = load(
        "name: p\nservices:\n  a: {image: x, configs: [c]}\n"
        "configs:\n  c: {file: ./c, template_driver: golang}\n"
    )
    with pytest.raises(
        filerefs.FileRefError, match=r"^Docker Compose does not support configs\.\*\.template_driver$"
    ):
        filerefs.mounts(project, project.services["a"])


def test_a_read_only_service_cannot_get_written_in_files(load: Loader) -> None:
    project = load(
        "name: p\nservices:\n  a: {image: x, read_only: true, secrets: [s]}\n"
        "secrets:\n  s: {environment: V}\n"
    )
    with pytest.raises(filerefs.FileRefError, match='cannot create secret "p_s" in read-only service a'):
        filerefs.injected_files(project, project.services["a"], {"V": "x"})


def test_owner_and_mode_on_a_bind_mount_only_warn(load: Loader) -> None:
    project = load(PROJECT)
    # once per use, as Compose warns in its loop over the service's secrets
    missing = "secret file p1_fsec does not exist"
    assert filerefs.warnings(project, project.services["app"]) == [missing, missing]
    project = load(
        "name: p\nservices:\n  a: {image: x, configs: [{source: c, mode: 0400}]}\n"
        "configs:\n  c: {file: ./c}\n"
    )
    assert filerefs.warnings(project, project.services["a"]) == [
        "configs `uid`, `gid` and `mode` are not supported, they will be ignored"
    ]


def test_a_changed_value_recreates_an_unknown_one_does_not(load: Loader) -> None:
    project = load(PROJECT)
    app = project.services["app"]
    old = filerefs.content_digest(project, app, {"MYSEC": "one"})
    assert old and old == filerefs.content_digest(project, app, {"MYSEC": "one"})
    new = filerefs.content_digest(project, app, {"MYSEC": "two"})
    assert new != old
    assert filerefs.content_digest(project, app, {}) == ""  # unset: nothing to compare with

    def plan(label: str | None, wanted: str) -> str:
        c = container(project, "app")
        if label is not None:
            c = replace(c, labels={**c.labels, filerefs.INJECTED_HASH_LABEL: label})
        return str(
            reconcile(
                project,
                snapshot(project, [c], images={"busybox": IMAGE_ID}),
                UpOptions(injected={"app": wanted}),
            )
        )

    assert "recreate: secret or config content changed" in plan(old, new)
    assert plan(old, old) == ""
    assert plan(None, new) == ""  # made by Compose, which records no such label: taken as current
    assert plan(old, "") == ""  # the variable is unset now: the running container is left alone


def test_network_and_volume_hashes_equal_the_references(load: Loader) -> None:
    """The com.docker.compose.config-hash values the reference binary (2.40.3) wrote on dockerd for this
    file (measured)."""
    project = load(
        """
name: p3
services:
  web: {image: busybox, networks: [front], volumes: [data:/data, other:/other]}
  worker: {image: busybox, networks: {back: {aliases: [w]}}}
  plain: {image: busybox}
networks:
  front:
    driver_opts: {com.docker.network.bridge.name: br-i11a-f}
    labels: {a: b}
    x-foo: 1
  back:
    internal: true
    ipam: {config: [{subnet: 10.233.5.0/24}]}
volumes:
  data: {labels: [x=y]}
  other: {driver: local, driver_opts: {type: tmpfs, device: tmpfs}}
"""
    )
    assert {k: network_hash(n) for k, n in project.networks.items()} == {
        "front": "eead677f093b27fdace8aa83d854771b08f7d1dd5896ba912f63adb5165ce30d",
        "back": "aa1bf0813b495873331000e8d02e831444e220509a25c5799856f99e7a40877a",
        "default": "628b31559525f2dff3422e7a4164b5b9d1a8b154725cfd81f8aaef3e796241a4",
    }
    assert {k: volume_hash(v) for k, v in project.volumes.items()} == {
        "data": "afb2313568f525f70ca19b70d14066bf1dc94a90e4347c86273223e4526ef282",
        "other": "6772c29281e11ad73336fd1775abf2409088a1aa022c0caab8d0317e53209a49",
    }
