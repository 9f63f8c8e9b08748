"""Volumes filled from an image's merged view, and local-driver options mounted for real (root)."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest

from engine.errors import Conflict
from engine.images.store import Image, ImageStore
from engine.volumes.store import VolumeStore
from tests.unit.images.tars import E, make_tar

pytestmark = pytest.mark.root

CID = "c" * 64


def _fs_type(path: Path) -> str:
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == str(path):
                return fields[fields.index("-") + 1]
    return ""


def test_copy_up_from_the_image_keeps_owners_and_modes(
    images: ImageStore, volumes: VolumeStore, busybox_image: Image
) -> None:
    extra = make_tar(
        E("home", "dir", mode=0o755), E("home/app", "dir", mode=0o750, uid=1000, gid=1000),
        E("home/app/.profile", data=b"export A=1\n", mode=0o600, uid=1000, gid=1000),
        E("home/app/run", "symlink", target="/bin/busybox", uid=1000, gid=1000),
    )
    diff_ids = busybox_image.diff_ids + [images.add_layer(io.BytesIO(extra))]
    image = images.create_image(dict(busybox_image.config, rootfs={"type": "layers", "diff_ids": diff_ids}))
    images.create_rw(CID, image)
    merged = images.mount_rw(CID)
    vol = volumes.create(None)
    volumes.copy_up(vol, merged / "home/app")
    data = vol.mountpoint
    top = os.lstat(data)
    assert (stat.S_IMODE(top.st_mode), top.st_uid, top.st_gid) == (0o750, 1000, 1000)
    profile = os.lstat(data / ".profile")
    assert (stat.S_IMODE(profile.st_mode), profile.st_uid, profile.st_gid) == (0o600, 1000, 1000)
    assert (data / ".profile").read_text() == "export A=1\n"
    assert os.readlink(data / "run") == "/bin/busybox" and os.lstat(data / "run").st_uid == 1000
    # and the busybox content from the lower layer copies as well
    www = volumes.create("www")
    volumes.copy_up(www, merged / "var/www")
    assert (www.mountpoint / "index.html").read_text() == "hello from busybox\n"


def test_tmpfs_volume_is_mounted_while_used(volumes: VolumeStore) -> None:
    opts = {"type": "tmpfs", "device": "tmpfs", "o": "size=1m,mode=0770"}
    vol = volumes.create("scratch", driver_opts=opts)
    assert not os.path.ismount(vol.mountpoint)
    assert volumes.mount(vol, "c1") == vol.mountpoint
    volumes.mount(vol, "c2")
    assert _fs_type(vol.mountpoint) == "tmpfs"
    assert stat.S_IMODE(os.stat(vol.mountpoint).st_mode) == 0o770
    (vol.mountpoint / "f").write_text("in memory")
    volumes.unmount(vol, "c1")
    assert os.path.ismount(vol.mountpoint)  # c2 still uses it
    volumes.unmount(vol, "c2")
    assert not os.path.ismount(vol.mountpoint)
    assert not (vol.mountpoint / "f").exists()
    volumes.remove("scratch", force=False, in_use=lambda _n: [])


def test_bind_volume_and_remove_while_mounted(volumes: VolumeStore, tmp_path: Path) -> None:
    host = tmp_path / "host-dir"
    host.mkdir()
    vol = volumes.create("bound", driver_opts={"type": "none", "device": str(host), "o": "bind"})
    volumes.mount(vol, CID)
    (vol.mountpoint / "written").write_text("through the volume")
    assert (host / "written").read_text() == "through the volume"
    with pytest.raises(Conflict):
        volumes.remove("bound", force=True, in_use=lambda _n: [CID])
    volumes.remove("bound", force=False, in_use=lambda _n: [])  # unmounts first, host data untouched
    assert (host / "written").read_text() == "through the volume"
    assert not (tmp_path / "volumes" / "bound").exists()
