"""The image index and Docker's naming/removal rules (no root needed: plain files only)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from engine.errors import Conflict, InvalidParameter, NotFound
from engine.images.store import ImageStore
from tests.unit.images.tars import E, make_tar

NOBODY: list[str] = []


def unused(_image_id: str) -> list[str]:
    return NOBODY


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "images")


def _image(store: ImageStore, content: bytes, tag: str | None = "app:1", changes: tuple[str, ...] = ()):
    data = make_tar(E("etc", "dir", mode=0o755), E("etc/content", data=content))
    return store.import_rootfs(io.BytesIO(data), tag, list(changes), "")


def test_import_and_lookup(store: ImageStore) -> None:
    img = _image(store, b"one", "app:1", ("CMD [\"sh\"]", "LABEL a=b"))
    assert img.repo_tags == ("app:1",)
    assert img.config["config"] == {"Cmd": ["sh"], "Labels": {"a": "b"}}
    assert img.config["os"] == "linux" and img.config["architecture"]
    assert img.size == 3
    hexid = img.id.split(":")[1]
    for ref in ("app:1", "docker.io/library/app:1", img.id, hexid, hexid[:12], "sha256:" + hexid[:10]):
        assert store.get(ref).id == img.id
    with pytest.raises(NotFound, match="^No such image: app:2$"):
        store.get("app:2")
    with pytest.raises(NotFound, match="No such image: app$"):
        store.get("app")  # means app:latest
    with pytest.raises(InvalidParameter, match="invalid reference format"):
        store.get("Bad Name")
    assert [i.id for i in store.list()] == [img.id]


def test_id_is_config_digest_and_survives_restart(store: ImageStore, tmp_path: Path) -> None:
    img = _image(store, b"one")
    assert store.blob_path(img.id).is_file()
    import hashlib
    assert img.id == "sha256:" + hashlib.sha256(store.blob_path(img.id).read_bytes()).hexdigest()
    again = ImageStore(tmp_path / "images")
    assert again.get("app:1") == store.get("app:1")


def test_create_image_requires_layers(store: ImageStore) -> None:
    with pytest.raises(InvalidParameter, match="is not in the store"):
        store.create_image({"rootfs": {"type": "layers", "diff_ids": ["sha256:" + "1" * 64]}})


def test_scratch_image_has_no_layers(store: ImageStore) -> None:
    config = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
    img = store.create_image(config, ["scratchy"])
    assert img.size == 0 and store.lower_dirs(img) == []
    assert store.inspect("scratchy")["RootFS"] == {"Type": "layers", "Layers": []}


def test_tag_untag_and_remove_rules(store: ImageStore) -> None:
    img = _image(store, b"one", "app:1")
    store.tag("app:1", "app:2")
    store.tag(img.id, "localhost:5000/other/app")
    assert set(store.get(img.id).repo_tags) == {"app:1", "app:2", "localhost:5000/other/app:latest"}
    with pytest.raises(InvalidParameter, match="refusing to create a tag with a digest reference"):
        store.tag("app:1", "app@sha256:" + "a" * 64)
    # untag one of several: the image stays
    assert store.remove("app:2", force=False, prune=False, in_use=unused) == [{"Untagged": "app:2"}]
    # by id with tags in two repositories: must force
    with pytest.raises(Conflict) as info:
        store.remove(img.id, force=False, prune=False, in_use=unused)
    assert info.value.message == (
        f"conflict: unable to delete {img.short_id} (must be forced) - "
        "image is referenced in multiple repositories"
    )
    # last tag of an image a container uses: must force, with Docker's words
    store.remove("localhost:5000/other/app", force=False, prune=False, in_use=unused)
    with pytest.raises(Conflict) as info:
        store.remove("app:1", force=False, prune=False, in_use=lambda _i: ["c" * 64])
    assert info.value.message == (
        f'conflict: unable to remove repository reference "app:1" (must force) - container {"c" * 12} '
        f"is using its referenced image {img.short_id}"
    )
    # a running container's image cannot be deleted even with force
    with pytest.raises(Conflict, match=r"\(cannot be forced\) - image is being used by running container"):
        store.remove(img.id, force=True, prune=False, in_use=lambda _i: ["d" * 64],
                     running=lambda _i: ["d" * 64])
    records = store.remove("app:1", force=False, prune=True, in_use=unused)
    assert records[:2] == [{"Untagged": "app:1"}, {"Deleted": img.id}]
    assert len(records) == 3  # and its only layer
    assert store.list() == [] and store.layers.diff_ids() == []
    with pytest.raises(NotFound):
        store.remove("app:1", force=False, prune=False, in_use=unused)


def test_remove_by_id_with_stopped_container(store: ImageStore) -> None:
    img = _image(store, b"one", "app:1")
    stopped = r"\(must be forced\) - image is being used by stopped container c{12}$"
    with pytest.raises(Conflict, match=stopped):
        store.remove(img.id, force=False, prune=False, in_use=lambda _i: ["c" * 64])
    records = store.remove(img.id, force=True, prune=False, in_use=lambda _i: ["c" * 64])
    assert records[0] == {"Untagged": "app:1"} and records[1] == {"Deleted": img.id}


def test_shared_layers_are_freed_with_the_last_image(store: ImageStore) -> None:
    a = _image(store, b"same", "a:1")
    config = dict(a.config, comment="another image, same layer")
    b = store.create_image(config, ["b:1"])
    assert a.id != b.id and a.diff_ids == b.diff_ids
    store.remove("a:1", force=False, prune=False, in_use=unused)
    assert store.layers.diff_ids() == a.diff_ids
    store.remove("b:1", force=False, prune=False, in_use=unused)
    assert store.layers.diff_ids() == []


def test_digest_references(store: ImageStore) -> None:
    img = _image(store, b"one", "localhost:5000/app:1")
    digest = "sha256:" + "d" * 64
    store.add_digest_ref("localhost:5000/app", digest, img.id)
    assert store.get(f"localhost:5000/app@{digest}").id == img.id
    assert store.get(img.id).repo_digests == (f"localhost:5000/app@{digest}",)
    # removing the repository's last tag takes its digest references along
    records = store.remove("localhost:5000/app:1", force=False, prune=False, in_use=unused)
    assert records[:2] == [{"Untagged": "localhost:5000/app:1"}, {"Untagged": f"localhost:5000/app@{digest}"}]


def test_prune(store: ImageStore) -> None:
    keep = _image(store, b"kept", "keep:1")
    used = _image(store, b"used", None)
    dangling = _image(store, b"dangling", None)
    report = store.prune(in_use=lambda i: ["c"] if i == used.id else [])
    assert {"Deleted": dangling.id} in report["ImagesDeleted"]
    assert report["SpaceReclaimed"] == len(b"dangling")
    assert {i.id for i in store.list()} == {keep.id, used.id}
    report = store.prune(filters={"dangling": ["false"]}, in_use=lambda i: ["c"] if i == used.id else [])
    assert {"Untagged": "keep:1"} in report["ImagesDeleted"]
    assert [i.id for i in store.list()] == [used.id]
    with pytest.raises(InvalidParameter, match="invalid filter 'bogus'"):
        store.prune(filters={"bogus": ["1"]})


def test_prune_label_and_until(store: ImageStore) -> None:
    a = _image(store, b"a", None, ("LABEL tier=web",))
    b = _image(store, b"b", None, ("LABEL tier=db",))
    assert store.prune(filters={"until": ["1h"]})["ImagesDeleted"] is None  # both younger than an hour
    report = store.prune(filters={"label": ["tier=web"]})
    assert {"Deleted": a.id} in report["ImagesDeleted"]
    assert [i.id for i in store.list()] == [b.id]


def test_history_and_inspect(store: ImageStore) -> None:
    img = _image(store, b"one", "app:1")
    rows = store.history("app:1")
    assert rows == [{"Id": img.id, "Created": rows[0]["Created"], "CreatedBy": "", "Tags": ["app:1"],
                     "Size": 3, "Comment": "Imported from -"}]
    data = store.inspect("app:1")
    assert data["Id"] == img.id and data["RepoTags"] == ["app:1"] and data["RepoDigests"] == []
    assert data["RootFS"]["Layers"] == img.diff_ids
    assert data["Config"]["Cmd"] is None and data["Config"]["Env"] is None
    assert data["Metadata"]["LastTagTime"] != "0001-01-01T00:00:00Z"
    assert data["GraphDriver"]["Name"] == "overlay2"
    assert data["Os"] == "linux" and data["Size"] == 3


def test_save_load_round_trip(store: ImageStore, tmp_path: Path) -> None:
    a = _image(store, b"a", "app:1")
    store.tag("app:1", "localhost:5000/app:v2")
    b = _image(store, b"b", None)
    archive = b"".join(store.save(["app:1", "localhost:5000/app:v2", b.id]))
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        names = set(tar.getnames())
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
    assert {"oci-layout", "index.json", "manifest.json", "repositories"} <= names
    assert manifest[0]["RepoTags"] == ["app:1", "localhost:5000/app:v2"]
    assert manifest[1]["RepoTags"] is None
    assert [m.get("annotations", {}).get("io.containerd.image.name") for m in index["manifests"]] == [
        "docker.io/library/app:1", "localhost:5000/app:v2", None]
    fresh = ImageStore(tmp_path / "fresh")
    lines = fresh.load(io.BytesIO(archive))
    assert lines == ["Loaded image: app:1", "Loaded image: localhost:5000/app:v2", f"Loaded image ID: {b.id}"]
    assert fresh.get("app:1").id == a.id and fresh.get(b.id).id == b.id
    with pytest.raises(NotFound):
        list(store.save(["nope:1"]))


def test_load_rejects_garbage(store: ImageStore) -> None:
    with pytest.raises(InvalidParameter):
        store.load(io.BytesIO(b"not a tar at all" * 100))
    with pytest.raises(InvalidParameter, match="no manifest.json or index.json"):
        store.load(io.BytesIO(make_tar(E("hello", data=b"x"))))
    assert list((store.root / "ingest").iterdir()) == []


def test_fresh_layers_survive_collection_until_an_image_uses_them(
    store: ImageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = _image(store, b"other", "other:1")
    pending = store.add_layer(io.BytesIO(make_tar(E("pending", data=b"p"))))  # a pull in progress
    store.remove("other:1", force=False, prune=False, in_use=unused)  # runs layer collection
    assert store.layers.diff_ids() == [pending] and other.diff_ids[0] != pending
    from engine.images import layers

    monkeypatch.setattr(layers, "LEASE_SECONDS", 0.0)
    assert store.collect_layers() == [pending]  # abandoned once its lease ran out


def test_removal_reports_layers_by_chain_id(store: ImageStore) -> None:
    from engine.images.layers import chain_ids

    base = _image(store, b"base", None)
    top = store.add_layer(io.BytesIO(make_tar(E("top", data=b"t"))))
    diff_ids = base.diff_ids + [top]
    img = store.create_image(dict(base.config, rootfs={"type": "layers", "diff_ids": diff_ids}), ["two:1"])
    store.remove(base.id, force=False, prune=False, in_use=unused)
    records = store.remove("two:1", force=False, prune=False, in_use=unused)
    assert records == [{"Untagged": "two:1"}, {"Deleted": img.id},
                       *({"Deleted": c} for c in reversed(chain_ids(diff_ids)))]


def test_unreferenced_blobs_are_collected_after_their_grace_period(store: ImageStore) -> None:
    img = _image(store, b"one", "localhost:5000/app:1")
    config_blob = store.blobs.read(img.id)
    manifest = json.dumps({"schemaVersion": 2, "config": {"digest": img.id, "size": len(config_blob)},
                           "layers": []}).encode()
    manifest_digest, _ = store.write_blob(manifest)
    index = json.dumps({"schemaVersion": 2, "manifests": [{"digest": manifest_digest}]}).encode()
    index_digest, _ = store.write_blob(index)
    stray, _ = store.write_blob(b"left over by an interrupted pull")
    store.add_digest_ref("localhost:5000/app", index_digest, img.id)
    assert store.collect_blobs() == []  # everything young
    assert store.collect_blobs(grace_seconds=0) == [stray]  # the index and its manifest are referenced
    store.remove("localhost:5000/app:1", force=False, prune=False, in_use=unused)
    store.collect_blobs(grace_seconds=0)
    assert store.blobs.digests() == []


def test_tag_and_digest_reference_resolves_by_digest(store: ImageStore) -> None:
    img = _image(store, b"one", "app:1")
    digest = "sha256:" + "e" * 64
    store.add_digest_ref("app", digest, img.id)
    assert store.get(f"app:whatever@{digest}").id == img.id
