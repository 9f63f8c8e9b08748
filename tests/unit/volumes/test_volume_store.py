from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from engine.errors import Conflict, InvalidParameter, NotFound
from engine.volumes.store import ANONYMOUS_LABEL, VolumeStore


@pytest.fixture
def store(tmp_path: Path) -> VolumeStore:
    return VolumeStore(tmp_path / "volumes")


def test_named_volume(store: VolumeStore) -> None:
    vol = store.create("data", labels={"a": "1"})
    assert vol.mountpoint == store.root / "data" / "_data" and vol.mountpoint.is_dir()
    assert (vol.driver, vol.labels, vol.options, vol.anonymous) == ("local", {"a": "1"}, {}, False)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", vol.created_at)
    assert store.create("data") == vol  # creating an existing name returns it
    assert VolumeStore(store.root).get("data") == vol


def test_anonymous_volume(store: VolumeStore) -> None:
    vol = store.create(None)
    assert re.fullmatch(r"[0-9a-f]{64}", vol.name) and vol.anonymous
    assert vol.labels == {ANONYMOUS_LABEL: ""}


@pytest.mark.parametrize("name", ["a", "-x", "has space", "../up", "x/y"])
def test_invalid_names(store: VolumeStore, name: str) -> None:
    with pytest.raises(InvalidParameter, match="includes invalid characters for a local volume name"):
        store.create(name)


def test_driver_and_options_checked(store: VolumeStore) -> None:
    with pytest.raises(NotFound, match='plugin "nfs-plugin" not found'):
        store.create("v1", driver="nfs-plugin")
    with pytest.raises(InvalidParameter, match='invalid option: "bogus"'):
        store.create("v1", driver_opts={"bogus": "1"})
    with pytest.raises(InvalidParameter, match='missing required option: "device"'):
        store.create("v1", driver_opts={"type": "tmpfs"})
    assert store.list() == []


def test_get_missing(store: VolumeStore) -> None:
    with pytest.raises(NotFound, match="^get nope: no such volume$"):
        store.get("nope")


def test_list_filters(store: VolumeStore) -> None:
    store.create("web-data", labels={"tier": "web"})
    store.create("db-data", labels={"tier": "db", "backup": "yes"})
    anon = store.create(None)
    in_use = {"db-data": ["c1"]}

    def names(filters: dict[str, list[str]]) -> list[str]:
        return [v.name for v in store.list(filters, lambda n: in_use.get(n, []))]

    assert names({}) == sorted(["web-data", "db-data", anon.name])
    assert names({"name": ["data"]}) == ["db-data", "web-data"]
    assert names({"label": ["tier=web"]}) == ["web-data"]
    assert names({"label": ["backup"]}) == ["db-data"]
    assert names({"dangling": ["false"]}) == ["db-data"]
    assert names({"dangling": ["true"], "name": ["data"]}) == ["web-data"]
    assert names({"driver": ["local"]}) == names({})
    with pytest.raises(InvalidParameter, match="invalid filter 'size'"):
        names({"size": ["1"]})


def test_remove_in_use_and_missing(store: VolumeStore) -> None:
    store.create("busy")
    with pytest.raises(Conflict) as info:
        store.remove("busy", force=True, in_use=lambda _n: ["abc", "def"])
    assert info.value.message == "remove busy: volume is in use - [abc, def]"
    (store.get("busy").mountpoint / "f").write_text("x")
    store.remove("busy", force=False, in_use=lambda _n: [])
    assert not (store.root / "busy").exists()
    with pytest.raises(NotFound):
        store.remove("busy", force=False, in_use=lambda _n: [])


def test_prune_anonymous_by_default(store: VolumeStore) -> None:
    store.create("named")
    anon = store.create(None)
    used = store.create(None)
    (anon.mountpoint / "f").write_bytes(b"12345")
    report = store.prune({}, lambda n: ["c"] if n == used.name else [])
    assert report == {"VolumesDeleted": [anon.name], "SpaceReclaimed": 5}
    report = store.prune({"all": ["true"], "label!": ["keep"]}, lambda n: ["c"] if n == used.name else [])
    assert report["VolumesDeleted"] == ["named"]
    assert [v.name for v in store.list()] == [used.name]


def test_copy_up_into_empty_volume_only(store: VolumeStore, tmp_path: Path) -> None:
    src = tmp_path / "image-dir"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f").write_text("content")
    os.chmod(src / "sub" / "f", 0o640)
    os.symlink("sub/f", src / "link")
    os.link(src / "sub" / "f", src / "hard")
    os.chmod(src, 0o750)
    vol = store.create("fill")
    store.copy_up(vol, src)
    assert (vol.mountpoint / "sub" / "f").read_text() == "content"
    assert os.lstat(vol.mountpoint / "sub" / "f").st_mode & 0o777 == 0o640
    assert os.readlink(vol.mountpoint / "link") == "sub/f"
    assert os.stat(vol.mountpoint / "hard").st_ino == os.stat(vol.mountpoint / "sub" / "f").st_ino
    assert os.stat(vol.mountpoint).st_mode & 0o777 == 0o750
    (src / "new").write_text("later")
    store.copy_up(vol, src)  # not empty any more: nothing copied
    assert not (vol.mountpoint / "new").exists()


def test_copy_up_resolves_the_source_inside_the_container_root(store: VolumeStore, tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    (root / "run" / "app").mkdir(parents=True)
    (root / "run" / "app" / "pid").write_text("1")
    (root / "var").mkdir()
    os.symlink("/run", root / "var" / "run")  # absolute: means the container's /run, not the host's
    os.symlink("../../../../../../etc", root / "escape")
    vol = store.create("runvol")
    store.copy_up(vol, Path("/var/run/app"), root=root)
    assert (vol.mountpoint / "pid").read_text() == "1"
    other = store.create("escaped")
    store.copy_up(other, Path("/escape"), root=root)  # clamped at the root: root/etc does not exist
    assert list(other.mountpoint.iterdir()) == []
