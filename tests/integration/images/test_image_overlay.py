"""Real overlay mounts over layers unpacked from real archives (root)."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from engine.errors import Conflict
from engine.images.store import Image, ImageStore
from engine.images.unpack import OPAQUE_XATTR
from tests.integration.images.mounts import mounts_under
from tests.unit.images.tars import E, make_tar

pytestmark = pytest.mark.root

CID = "c" * 64


def _layered(store: ImageStore, base: Image, *layers: bytes, tag: str = "layered:1") -> Image:
    diff_ids = base.diff_ids + [store.add_layer(io.BytesIO(t)) for t in layers]
    config = dict(base.config, rootfs={"type": "layers", "diff_ids": diff_ids})
    return store.create_image(config, [tag])


def _sh(root: Path, script: str) -> str:
    proc = subprocess.run(["chroot", str(root), "/bin/sh", "-c", script], capture_output=True, text=True,
                          check=True, timeout=60)
    return proc.stdout


def test_busybox_runs_in_the_merged_view(store: ImageStore, busybox_image: Image) -> None:
    store.create_rw(CID, busybox_image)
    merged = store.mount_rw(CID)
    assert store.mount_rw(CID) == merged  # idempotent
    assert _sh(merged, "cat /var/www/index.html; echo changed > /var/www/index.html; echo new > /new") == (
        "hello from busybox\n")
    upper = store.root / "rw" / CID / "upper"
    assert (upper / "var/www/index.html").read_text() == "changed\n"
    assert (upper / "new").read_text() == "new\n"
    (layer_dir,) = store.lower_dirs(busybox_image)
    assert (layer_dir / "var/www/index.html").read_text() == "hello from busybox\n"  # never written to
    store.unmount_rw(CID)
    assert not os.path.ismount(merged)
    assert store.mount_rw(CID) == merged and (merged / "new").read_text() == "new\n"  # rw data kept
    store.remove_rw(CID)
    assert mounts_under(store.root) == []
    assert not (store.root / "rw" / CID).exists()


def test_whiteouts_and_opaque_dirs_in_an_upper_layer(store: ImageStore, busybox_image: Image) -> None:
    top = make_tar(
        E("var", "dir", mode=0o755), E("var/www", "dir", mode=0o755), E("var/www/.wh.index.html"),
        E("etc", "dir", mode=0o755), E("etc/.wh..wh..opq"), E("etc/only", data=b"only\n"),
    )
    image = _layered(store, busybox_image, top)
    layer = store.layers.get(image.diff_ids[-1]).path
    st = os.lstat(layer / "var/www/index.html")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(layer / "etc", OPAQUE_XATTR) == b"y"
    store.create_rw(CID, image)
    merged = store.mount_rw(CID)
    assert not (merged / "var/www/index.html").exists()
    assert (merged / "var/www").is_dir()
    assert os.listdir(merged / "etc") == ["only"]
    assert (merged / "bin/busybox").is_file()


def test_metadata_is_preserved(store: ImageStore) -> None:
    data = make_tar(
        E("d", "dir", mode=0o1777, uid=1000, gid=1000, mtime=1_000_000),
        E("d/suid", data=b"#!/bin/sh\n", mode=0o4755, uid=0, gid=10),
        E("d/owned", data=b"x", mode=0o600, uid=1000, gid=1000, xattrs=(("user.note", "hello"),)),
        E("d/hard", "hardlink", target="d/owned"),
        E("d/link", "symlink", target="/etc/passwd", uid=1000, gid=1000),
        E("dev", "dir", mode=0o755), E("dev/null", "chardev", mode=0o666, dev=(1, 3)),
        E("dev/fifo", "fifo", mode=0o620),
    )
    layer = store.layers.add(io.BytesIO(data)).path
    d = os.lstat(layer / "d")
    assert (stat.S_IMODE(d.st_mode), d.st_uid, d.st_gid, int(d.st_mtime)) == (0o1777, 1000, 1000, 1_000_000)
    suid = os.lstat(layer / "d/suid")
    assert (stat.S_IMODE(suid.st_mode), suid.st_uid, suid.st_gid) == (0o4755, 0, 10)
    owned = os.lstat(layer / "d/owned")
    assert (owned.st_uid, owned.st_nlink) == (1000, 2)
    assert os.getxattr(layer / "d/owned", "user.note") == b"hello"
    assert os.lstat(layer / "d/hard").st_ino == owned.st_ino
    assert os.readlink(layer / "d/link") == "/etc/passwd" and os.lstat(layer / "d/link").st_uid == 1000
    null = os.lstat(layer / "dev/null")
    assert stat.S_ISCHR(null.st_mode) and (os.major(null.st_rdev), os.minor(null.st_rdev)) == (1, 3)
    assert stat.S_ISFIFO(os.lstat(layer / "dev/fifo").st_mode)


def test_diff_rw_commits_into_a_new_layer(store: ImageStore, busybox_image: Image) -> None:
    store.create_rw(CID, busybox_image)
    merged = store.mount_rw(CID)
    _sh(merged, "rm /var/www/index.html && echo hi > /var/www/new.html && rm -rf /etc && mkdir /etc "
                "&& echo root:x:0:0::/:/bin/sh > /etc/passwd && chown 1000:1000 /etc/passwd "
                "&& mkdir -p /opt/app && ln /etc/passwd /opt/app/pw-link")
    diff = b"".join(store.diff_rw(CID))
    with tarfile.open(fileobj=io.BytesIO(diff)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["var/www/.wh.index.html"].isreg() and members["var/www/.wh.index.html"].size == 0
    assert "etc/.wh..wh..opq" in members
    assert members["etc/passwd"].uid == 1000
    assert members["opt/app/pw-link"].islnk() and members["opt/app/pw-link"].linkname == "etc/passwd"
    assert not any(n.startswith(("var/www/index.html", "etc/group")) for n in members)
    # the builder's commit: the diff becomes a layer of a new image, and a container of it sees the changes
    committed = _layered(store, busybox_image, diff, tag="committed:1")
    other = "d" * 64
    store.create_rw(other, committed)
    view = store.mount_rw(other)
    script = "cat /var/www/new.html /etc/passwd; ls /etc; test ! -e /var/www/index.html && echo gone"
    assert _sh(view, script) == "hi\nroot:x:0:0::/:/bin/sh\npasswd\ngone\n"


def test_scratch_container(store: ImageStore) -> None:
    scratch = store.create_image({"architecture": "amd64", "os": "linux",
                                  "rootfs": {"type": "layers", "diff_ids": []}}, ["scratch-like"])
    store.create_rw(CID, scratch)
    merged = store.mount_rw(CID)
    assert os.listdir(merged) == []
    (merged / "hello").write_text("x")
    with tarfile.open(fileobj=io.BytesIO(b"".join(store.diff_rw(CID)))) as tar:
        assert tar.getnames() == ["hello"]
    store.create_rw("e" * 64, None)  # no image at all
    assert os.listdir(store.mount_rw("e" * 64)) == []


def test_many_layers_fit_the_mount_options(store: ImageStore) -> None:
    tars = [make_tar(E(f"f{i:03d}", data=b"%d" % i), E("top", data=b"%d" % i)) for i in range(150)]
    diff_ids = [store.add_layer(io.BytesIO(t)) for t in tars]
    image = store.create_image({"architecture": "amd64", "os": "linux",
                                "rootfs": {"type": "layers", "diff_ids": diff_ids}}, ["tall:1"])
    plain = ":".join(str(p) for p in store.lower_dirs(image))
    assert len(plain) > 4096  # absolute layer paths would not fit in one page of options
    store.create_rw(CID, image)
    merged = store.mount_rw(CID)
    assert len(os.listdir(merged)) == 151
    assert (merged / "top").read_text() == "149"  # the top-most layer wins


def test_save_load_round_trip(store: ImageStore, busybox_image: Image, tmp_path: Path) -> None:
    top = make_tar(E("var", "dir", mode=0o755), E("var/www", "dir", mode=0o755), E("var/www/.wh.index.html"),
                   E("added", data=b"a"))
    image = _layered(store, busybox_image, top)
    archive = b"".join(store.save(["layered:1", "busybox"]))
    fresh = ImageStore(tmp_path / "fresh")
    lines = fresh.load(io.BytesIO(archive))
    assert sorted(lines) == ["Loaded image: busybox:latest", "Loaded image: layered:1"]
    assert fresh.get("layered:1").id == image.id and fresh.get("busybox").id == busybox_image.id
    assert sorted(fresh.layers.diff_ids()) == sorted(image.diff_ids)
    fresh.create_rw(CID, fresh.get("layered:1"))
    merged = fresh.mount_rw(CID)
    assert (merged / "added").read_text() == "a" and not (merged / "var/www/index.html").exists()
    # and docker's own tooling reads the archive: skopeo inspects it as a docker-archive
    path = tmp_path / "saved.tar"
    path.write_bytes(archive)
    proc = subprocess.run(["skopeo", "inspect", "--config", f"docker-archive:{path}:layered:1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert '"diff_ids"' in proc.stdout


def test_removing_images_frees_layers(store: ImageStore, busybox_image: Image) -> None:
    (layer,) = store.lower_dirs(busybox_image)
    store.create_rw(CID, busybox_image)
    store.mount_rw(CID)
    records = store.remove("busybox", force=True, prune=False, in_use=lambda _i: [CID])
    assert {"Deleted": busybox_image.id} in records
    assert layer.is_dir()  # the container's rw layer still stands on it
    store.unmount_rw(CID)
    store.remove_rw(CID)
    assert not layer.exists()
    assert store.layers.diff_ids() == [] and list((store.root / "l").iterdir()) == []
    assert list((store.root / "blobs" / "sha256").iterdir()) == []


def test_changes_and_size_of_the_rw_layer(store: ImageStore, busybox_image: Image) -> None:
    store.create_rw(CID, busybox_image)
    merged = store.mount_rw(CID)
    assert store.changes_rw(CID) == [] and store.size_rw(CID) == 0
    _sh(merged, "rm /var/www/index.html; echo 12345 > /added; echo x >> /etc/passwd")
    assert store.changes_rw(CID) == [
        {"Path": "/added", "Kind": 1},
        {"Path": "/etc", "Kind": 0},
        {"Path": "/etc/passwd", "Kind": 0},
        {"Path": "/var", "Kind": 0},
        {"Path": "/var/www", "Kind": 0},
        {"Path": "/var/www/index.html", "Kind": 2},
    ]
    assert store.size_rw(CID) == 6 + (merged / "etc/passwd").stat().st_size
    paths = store.rw_paths(CID)
    assert paths["MergedDir"] == str(merged) and paths["LowerDir"] == str(store.lower_dirs(busybox_image)[0])
    assert (Path(paths["UpperDir"]) / "added").read_text() == "12345\n"


def test_commit_makes_a_child_image(store: ImageStore, busybox_image: Image) -> None:
    store.create_rw(CID, busybox_image)
    _sh(store.mount_rw(CID), "echo committed > /marker; rm /var/www/index.html")
    child = store.commit_rw(CID, busybox_image, {"Cmd": ["cat", "/marker"]}, tags=["child:1"],
                            changes=["ENV MODE=prod"], comment="snapshot", author="tester")
    assert child.parent == busybox_image.id
    assert child.config["config"] == {"Cmd": ["cat", "/marker"], "Env": ["MODE=prod"]}
    assert child.diff_ids[:-1] == busybox_image.diff_ids
    assert [h["Comment"] for h in store.history("child:1")] == ["snapshot", "Imported from -"]
    assert store.inspect("child:1")["Parent"] == busybox_image.id
    with pytest.raises(Conflict, match=r"\(cannot be forced\) - image has dependent child images"):
        store.remove(busybox_image.id, force=True, prune=False, in_use=lambda _i: [])
    other = "d" * 64
    store.create_rw(other, child)
    view = store.mount_rw(other)
    assert _sh(view, "cat /marker; test -e /var/www/index.html || echo gone") == "committed\ngone\n"
    store.remove_rw(other)
    store.remove_rw(CID)
    records = store.remove("child:1", force=False, prune=True, in_use=lambda _i: [])
    assert {"Deleted": child.id} in records and store.exists(busybox_image.id)  # a tagged parent stays


def test_layers_outlive_a_removed_image_until_its_last_container_goes(
    store: ImageStore, busybox_image: Image
) -> None:
    only = _layered(store, busybox_image, make_tar(E("only", data=b"only\n")), tag="only:1")
    top = only.diff_ids[-1]
    store.create_rw(CID, only)
    other = "e" * 64
    store.create_rw(other, busybox_image)
    store.remove_rw(other)  # its image is still there: nothing is freed
    assert top in store.layers.diff_ids() and busybox_image.diff_ids[0] in store.layers.diff_ids()
    store.remove("only:1", force=True, prune=True, in_use=lambda _i: [])  # as `rmi -f` with a container
    assert not store.exists(only.id) and top in store.layers.diff_ids()  # the container still stacks on it
    store.remove_rw(CID)
    assert top not in store.layers.diff_ids()  # freed with the last container that used it
    assert busybox_image.diff_ids[0] in store.layers.diff_ids()  # still busybox's
