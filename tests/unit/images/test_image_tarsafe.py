"""Hostile and unusual layer archives: refused with one clear error, and nothing left behind."""

from __future__ import annotations

import gzip
import io
import os
import stat
from pathlib import Path

import pytest
import zstandard

from engine.errors import InvalidParameter
from engine.images import tarsafe
from engine.images.blobs import BlobStore
from engine.images.digest import sha256_bytes
from engine.images.layers import LayerStore, chain_ids
from tests.unit.images.tars import E, make_tar, member


@pytest.fixture
def layers(tmp_path: Path) -> LayerStore:
    return LayerStore(tmp_path / "store", BlobStore(tmp_path / "store"))


def _assert_nothing_left(layers: LayerStore, outside: Path | None = None) -> None:
    assert os.listdir(layers.root / "layers") == []
    assert os.listdir(layers.root / "l") == []
    assert os.listdir(layers.root / "blobs" / "sha256") == []
    assert os.listdir(layers.root / "ingest") == []
    if outside is not None:
        assert not outside.exists()


HOSTILE = {
    "dotdot": [E("a", "dir", mode=0o755), E("a/../../escaped", data=b"x")],
    "dotdot-plain": [E("../escaped", data=b"x")],
    "absolute": [E("/tmp/escaped-abs", data=b"x")],
    "symlink-parent-absolute": [E("evil", "symlink", target="/tmp"), E("evil/escaped", data=b"x")],
    "symlink-parent-relative": [E("d", "dir", mode=0o755), E("d/evil", "symlink", target="../../.."),
                                E("d/evil/escaped", data=b"x")],
    "symlink-chain": [E("a", "symlink", target="b"), E("b", "symlink", target="../outside"),
                      E("a/escaped", data=b"x")],
    "hardlink-dotdot": [E("link", "hardlink", target="../../etc/passwd")],
    "hardlink-absolute": [E("link", "hardlink", target="/etc/passwd")],
    "hardlink-through-symlink": [E("evil", "symlink", target="/etc"),
                                 E("link", "hardlink", target="evil/passwd")],
    "hardlink-missing": [E("link", "hardlink", target="nothing-here")],
    "whiteout-dotdot": [E(".wh..."), E("x", data=b"1")],
    "file-over-root": [E(".", "file", data=b"x")],
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archives_are_refused(case: str, layers: LayerStore, tmp_path: Path) -> None:
    benign = [E("ok", "dir", mode=0o755), E("ok/file", data=b"fine")]
    data = make_tar(*benign, *HOSTILE[case])
    with pytest.raises(InvalidParameter) as info:
        layers.add(io.BytesIO(data))
    assert info.value.message.startswith("refusing layer")
    assert "\n" not in info.value.message
    _assert_nothing_left(layers, Path("/tmp/escaped-abs") if case == "absolute" else None)
    assert not (tmp_path / "escaped").exists()
    assert not (tmp_path.parent / "escaped").exists()


def test_corrupt_archive_is_invalid_parameter(layers: LayerStore) -> None:
    data = make_tar(E("a", data=b"x" * 2000))
    with pytest.raises(InvalidParameter, match="invalid tar archive"):
        layers.add(io.BytesIO(data[:700]))
    _assert_nothing_left(layers)


def test_symlink_parent_inside_the_layer_is_followed(layers: LayerStore) -> None:
    data = make_tar(E("usr", "dir", mode=0o755), E("usr/lib", "dir", mode=0o755),
                    E("lib", "symlink", target="usr/lib"), E("lib/libx.so", data=b"lib"))
    layer = layers.add(io.BytesIO(data))
    assert (layer.path / "usr/lib/libx.so").read_bytes() == b"lib"
    assert os.readlink(layer.path / "lib") == "usr/lib"


def test_diff_id_and_source_digests(layers: LayerStore) -> None:
    data = make_tar(E("etc", "dir", mode=0o755), E("etc/motd", data=b"hi\n", mode=0o600, mtime=1234567890))
    plain = layers.add(io.BytesIO(data))
    assert plain.diff_id == sha256_bytes(data)
    assert plain.tar_size == len(data)
    assert (plain.path / "etc/motd").read_bytes() == b"hi\n"
    st = os.lstat(plain.path / "etc/motd")
    assert (st.st_mode & 0o7777, int(st.st_mtime)) == (0o600, 1234567890)
    gz = gzip.compress(data)
    again = layers.add(io.BytesIO(gz))  # same content, gzip: unpacked once, the gzip digest remembered
    assert again.diff_id == plain.diff_id and again.link == plain.link
    assert sha256_bytes(gz) in again.sources
    assert layers.by_source(sha256_bytes(gz)) == plain.diff_id
    with layers.open_tar(plain.diff_id) as f:
        assert f.read() == data
    assert len(layers.diff_ids()) == 1


def test_zstd_layer_and_expected_diff_id(layers: LayerStore) -> None:
    data = make_tar(E("z", data=b"zstd content"))
    zst = zstandard.ZstdCompressor().compress(data)
    with pytest.raises(InvalidParameter, match="layer digest mismatch"):
        layers.add(io.BytesIO(zst), expected_diff_id="sha256:" + "0" * 64)
    _assert_nothing_left(layers)
    layer = layers.add(io.BytesIO(zst), expected_diff_id=sha256_bytes(data))
    assert (layer.path / "z").read_bytes() == b"zstd content"


def test_hardlinks_inside_the_layer(layers: LayerStore) -> None:
    data = make_tar(E("a", data=b"same"), E("b", "hardlink", target="a"))
    layer = layers.add(io.BytesIO(data))
    assert os.stat(layer.path / "a").st_ino == os.stat(layer.path / "b").st_ino


def test_later_member_replaces_earlier(layers: LayerStore) -> None:
    data = make_tar(E("x", "dir", mode=0o755), E("x/y", data=b"1"), E("x", data=b"now a file"))
    layer = layers.add(io.BytesIO(data))
    assert (layer.path / "x").read_bytes() == b"now a file"


def test_readonly_dirs_get_their_mode_last(layers: LayerStore) -> None:
    data = make_tar(E("ro", "dir", mode=0o555, mtime=1000), E("ro/f", data=b"x"))
    layer = layers.add(io.BytesIO(data))
    st = os.lstat(layer.path / "ro")
    assert (st.st_mode & 0o777, int(st.st_mtime)) == (0o555, 1000)
    layers.remove(layer.diff_id)
    _assert_nothing_left(layers)


def test_whiteout_translation() -> None:
    assert tarsafe.translate(member("a/b/.wh.c")) == tarsafe.Action("whiteout", "a/b/c")
    assert tarsafe.translate(member(".wh.top")) == tarsafe.Action("whiteout", "top")
    assert tarsafe.translate(member("./a/.wh..wh..opq")) == tarsafe.Action("opaque", "a")
    assert tarsafe.translate(member(".wh..wh..opq")) == tarsafe.Action("opaque", "")
    assert tarsafe.translate(member("a/.wh..wh.plnk")).kind == "skip"
    assert tarsafe.translate(member("a/b", "dir")) == tarsafe.Action("dir", "a/b")
    assert tarsafe.translate(member("./x/y/../z")) == tarsafe.Action("file", "x/z")
    symlink = tarsafe.translate(member("l", "symlink", "/abs/target"))
    assert symlink == tarsafe.Action("symlink", "l", "/abs/target")
    assert tarsafe.translate(member("h", "hardlink", "./a/b")) == tarsafe.Action("hardlink", "h", "a/b")
    with pytest.raises(tarsafe.UnsafeArchive):
        tarsafe.translate(member("a/.wh.."))


def test_xattr_namespaces_filtered() -> None:
    info = member("f")
    info.pax_headers = {"SCHILY.xattr.user.k": "v", "SCHILY.xattr.trusted.overlay.opaque": "y",
                        "SCHILY.xattr.security.capability": "\x01"}
    assert tarsafe.allowed_xattrs(info) == {"user.k": b"v", "security.capability": b"\x01"}


def test_chain_ids() -> None:
    a, b, c = ("sha256:" + ch * 64 for ch in "abc")
    ids = chain_ids([a, b, c])
    assert ids[0] == a
    assert ids[1] == sha256_bytes(f"{a} {b}".encode())
    assert ids[2] == sha256_bytes(f"{ids[1]} {c}".encode())


def test_layer_from_a_stored_blob_is_not_copied(layers: LayerStore) -> None:
    data = gzip.compress(make_tar(E("f", data=b"pulled")))
    digest, _ = layers.blobs.write(data)
    with layers.blobs.open(digest) as f:
        layer = layers.add(f, source_digest=digest)
    assert layer.sources == (digest,) and layers.blobs.digests() == [digest]
    assert (layer.path / "f").read_bytes() == b"pulled"


def test_a_dir_replaced_by_a_symlink_keeps_its_mode(layers: LayerStore, tmp_path: Path) -> None:
    target = tmp_path / "host-dir"
    (target / "b").mkdir(parents=True)
    os.chmod(target, 0o700)
    os.chmod(target / "b", 0o700)
    link = str(target)
    data = make_tar(E("x", "dir", mode=0o777), E("x", "symlink", target=link), E("a", "dir", mode=0o755),
                    E("a/b", "dir", mode=0o777), E("a", "symlink", target=link))
    layer = layers.add(io.BytesIO(data))
    assert os.readlink(layer.path / "x") == str(target) and os.readlink(layer.path / "a") == str(target)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(target / "b").st_mode) == 0o700
