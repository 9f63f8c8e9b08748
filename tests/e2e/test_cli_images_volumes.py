"""The docker CLI on images and volumes: images, tag, rmi, save | load, import, history, prune, system df,
volume create/ls/inspect/rm, and a pull that cannot reach a registry."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import time
from pathlib import Path

import pytest

from tests.e2e.helpers import DockerCLI

pytestmark = [pytest.mark.e2e, pytest.mark.root]


def image_id(docker: DockerCLI, ref: str) -> str:
    return docker("image", "inspect", "--format", "{{.Id}}", ref).out.strip()


def test_images_lists_busybox(docker: DockerCLI) -> None:
    rows = docker("images", "--format", "{{.Repository}} {{.Tag}} {{.ID}}").out.splitlines()
    bid = image_id(docker, "busybox")
    assert f"busybox latest {bid[len('sha256:') :][:12]}" in rows
    assert docker("images", "-q", "busybox").out.split() == [bid[7:19]]
    assert docker("images", "--no-trunc", "-q", "busybox").out.split() == [bid]
    assert docker("images", "-q", "no-such-repo").out == ""
    inspect = json.loads(docker("image", "inspect", "busybox").out)[0]
    assert inspect["RepoTags"] == ["busybox:latest"]
    assert inspect["Os"] == "linux" and inspect["Size"] > 500_000
    assert inspect["RootFS"]["Type"] == "layers" and len(inspect["RootFS"]["Layers"]) == 1


def test_tag_and_rmi(docker: DockerCLI) -> None:
    bid = image_id(docker, "busybox")
    docker("tag", "busybox", "e2e/tagged:v1")
    docker("tag", "busybox:latest", "localhost:5000/e2e/other")
    assert image_id(docker, "e2e/tagged:v1") == bid
    repos = docker(
        "images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=e2e/*"
    ).out.split()
    assert repos == ["e2e/tagged:v1"]
    assert docker("rmi", "e2e/tagged:v1").out.splitlines() == ["Untagged: e2e/tagged:v1"]
    assert docker("rmi", "localhost:5000/e2e/other").out.splitlines() == [
        "Untagged: localhost:5000/e2e/other:latest"
    ]
    assert image_id(docker, "busybox") == bid  # the last tag keeps the image
    missing = docker("rmi", "e2e/tagged:v1", rc=1)
    assert "No such image: e2e/tagged:v1" in missing.err
    bad = docker("tag", "busybox", "Bad/Upper:case", rc=1)
    assert "invalid reference format" in bad.err


def test_rmi_refuses_image_in_use(docker: DockerCLI, busybox_tar: bytes) -> None:
    own = docker("import", "-", "e2e/inuse:1", input=busybox_tar).out.strip()
    cid = docker("create", "--name", "e2e-user", "e2e/inuse:1", "true").out.strip()
    refused = docker("rmi", "e2e/inuse:1", rc=1)
    assert "unable to remove repository reference" in refused.err and cid[:12] in refused.err, refused
    docker("tag", "e2e/inuse:1", "e2e/inuse:2")
    assert docker("rmi", "e2e/inuse:2").out.splitlines() == ["Untagged: e2e/inuse:2"]  # another tag remains
    docker("rm", "e2e-user")
    removed = docker("rmi", "e2e/inuse:1").out.splitlines()
    assert removed[0] == "Untagged: e2e/inuse:1"
    assert f"Deleted: {own}" in removed


def test_save_load_round_trip(docker: DockerCLI, tmp_path: Path) -> None:
    bid = image_id(docker, "busybox")
    docker("tag", "busybox", "e2e/saved:1")
    archive = tmp_path / "saved.tar"
    docker("save", "-o", str(archive), "e2e/saved:1")
    assert archive.stat().st_size > 500_000
    docker("rmi", "e2e/saved:1")
    loaded = docker("load", "-i", str(archive))
    assert "Loaded image: e2e/saved:1" in loaded.out
    assert image_id(docker, "e2e/saved:1") == bid
    docker("rmi", "e2e/saved:1")
    # the stream form; gzip in between, as people ship images (load takes compressed archives too)
    piped = docker.shell("docker tag busybox e2e/piped:1 && docker save e2e/piped:1 | gzip | docker load")
    assert "Loaded image: e2e/piped:1" in piped.out, piped
    assert image_id(docker, "e2e/piped:1") == bid
    # several names in one archive: one manifest entry for the image, carrying both tags
    both = tmp_path / "both.tar"
    docker("save", "-o", str(both), "busybox", "e2e/piped:1")
    with tarfile.open(both) as tar:
        names = set(tar.getnames())
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert {"manifest.json", "index.json", "oci-layout"} <= names
    assert [sorted(m["RepoTags"]) for m in manifest] == [["busybox:latest", "e2e/piped:1"]]
    docker("rmi", "e2e/piped:1")


def test_import_with_changes_and_run(docker: DockerCLI, tmp_path: Path, busybox_tar: bytes) -> None:
    tarball = tmp_path / "rootfs.tar"
    tarball.write_bytes(busybox_tar)
    res = docker(
        "import",
        "--change",
        'CMD ["echo", "imported"]',
        "--change",
        "ENV MODE=e2e",
        "--message",
        "from e2e",
        str(tarball),
        "e2e/imported:1",
    )
    new_id = res.out.strip()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", new_id), res
    assert image_id(docker, "e2e/imported:1") == new_id
    assert docker("run", "--rm", "e2e/imported:1").out == "imported\n"
    assert docker("run", "--rm", "e2e/imported:1", "sh", "-c", "echo $MODE").out == "e2e\n"
    history = docker("history", "--format", "{{.Comment}}", "e2e/imported:1").out
    assert "from e2e" in history
    piped = docker("import", "-", "e2e/imported:2", input=busybox_tar)
    assert piped.out.strip().startswith("sha256:")
    docker("rmi", "e2e/imported:1", "e2e/imported:2")


def test_image_prune_removes_dangling(docker: DockerCLI, busybox_tar: bytes) -> None:
    dangling = docker("import", "--change", "LABEL e2e=prune", "-", input=busybox_tar).out.strip()
    listed = docker("images", "--filter", "dangling=true", "--no-trunc", "-q").out.split()
    assert dangling in listed
    pruned = docker("image", "prune", "-f", "--filter", "label=e2e=prune")
    assert f"deleted: {dangling}" in pruned.out
    assert "Total reclaimed space" in pruned.out
    assert dangling not in docker("images", "-a", "--no-trunc", "-q").out.split()
    assert image_id(docker, "busybox").startswith("sha256:")


def test_pull_without_registry_fails_cleanly(docker: DockerCLI) -> None:
    res = docker("pull", "registry.invalid/e2e/none:1", rc=1, timeout=60)
    assert "registry.invalid" in res.err
    assert "Traceback" not in res.err and len(res.err.strip().splitlines()) == 1, res
    assert docker("images", "-q", "registry.invalid/e2e/none").out == ""


def test_system_df(docker: DockerCLI) -> None:
    out = docker("system", "df").out
    assert out.splitlines()[0].split()[:2] == ["TYPE", "TOTAL"]
    kinds = [line.split()[0] for line in out.splitlines()[1:]]
    assert kinds[:3] == ["Images", "Containers", "Local"]
    verbose = docker("system", "df", "-v").out
    assert "busybox" in verbose


def test_volume_create_ls_inspect_rm(docker: DockerCLI) -> None:
    assert docker("volume", "create", "--label", "e2e=vol", "e2e-vol").out.strip() == "e2e-vol"
    assert docker("volume", "ls", "--filter", "label=e2e=vol", "--format", "{{.Name}}").out.split() == [
        "e2e-vol"
    ]
    info = json.loads(docker("volume", "inspect", "e2e-vol").out)[0]
    assert info["Name"] == "e2e-vol" and info["Driver"] == "local" and info["Labels"] == {"e2e": "vol"}
    assert Path(info["Mountpoint"]).is_dir()
    docker("run", "--rm", "-v", "e2e-vol:/data", "busybox", "sh", "-c", "echo kept > /data/f")
    assert docker("run", "--rm", "-v", "e2e-vol:/data", "busybox", "cat", "/data/f").out == "kept\n"
    docker("create", "--name", "e2e-vol-user", "-v", "e2e-vol:/data", "busybox", "true")
    in_use = docker("volume", "rm", "e2e-vol", rc=1)
    assert "volume is in use" in in_use.err
    docker("rm", "e2e-vol-user")
    assert docker("volume", "rm", "e2e-vol").out.strip() == "e2e-vol"
    assert "no such volume" in docker("volume", "inspect", "e2e-vol", rc=1).err.lower()
    docker("volume", "rm", "-f", "e2e-vol")  # already gone: force makes it success


def test_volume_prune_and_anonymous(docker: DockerCLI) -> None:
    anon = docker("volume", "create").out.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", anon)
    docker("volume", "create", "e2e-named")
    pruned = docker("volume", "prune", "-f").out
    assert anon in pruned  # anonymous volumes go by default (API >= 1.42)
    assert "e2e-named" in docker("volume", "ls", "-q").out.split()
    assert "e2e-named" in docker("volume", "prune", "-f", "--all").out
    assert "e2e-named" not in docker("volume", "ls", "-q").out.split()


def test_image_events(docker: DockerCLI) -> None:
    bid = image_id(docker, "busybox")
    since = str(int(time.time()) - 1)
    docker("tag", "busybox", "e2e/ev:1")
    docker("rmi", "e2e/ev:1")
    until = str(int(time.time()) + 1)
    res = docker(
        "events",
        "--since",
        since,
        "--until",
        until,
        "--filter",
        "type=image",
        "--format",
        "{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}",
        timeout=60,
    )
    lines = res.out.splitlines()
    assert f"tag {bid} e2e/ev:1" in lines, lines
    assert f"untag {bid} {bid}" in lines, lines


def test_bad_input_gets_one_clear_error(docker: DockerCLI, tmp_path: Path) -> None:
    # as dockerd: the load answers 200 and the error comes in its stream, which the CLI prints as is
    garbage = docker("load", input=b"this is not a tar archive\n", rc=1)
    assert garbage.err.startswith("invalid archive: ") and "Traceback" not in garbage.err
    missing = docker("save", "-o", str(tmp_path / "x.tar"), "e2e/nosuch:1", rc=1)
    assert "No such image: e2e/nosuch:1" in missing.err
    assert not (tmp_path / "x.tar").exists()
    assert "No such image: e2e/nosuch:1" in docker("history", "e2e/nosuch:1", rc=1).err
    assert "invalid filter 'bogus'" in docker("images", "--filter", "bogus=1", rc=1).err
    assert "no such volume" in docker("volume", "inspect", "e2e-nosuch", rc=1).err
    bad = docker("volume", "create", "bad/name", rc=1)
    assert "includes invalid characters for a local volume name" in bad.err


def test_import_body_larger_than_memory_spool(docker: DockerCLI, tmp_path: Path) -> None:
    """A body past the in-memory spool limit (32 MiB) goes through the on-disk spool intact."""
    payload = os.urandom(1 << 20) * 40  # 40 MiB
    tarball = tmp_path / "big.tar"
    with tarfile.open(tarball, "w") as tar:
        info = tarfile.TarInfo("big.bin")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    new_id = docker("import", str(tarball), "e2e/big:1", timeout=120).out.strip()
    inspect = json.loads(docker("image", "inspect", "e2e/big:1").out)[0]
    assert inspect["Id"] == new_id
    assert inspect["Size"] >= len(payload)
    expected = "sha256:" + hashlib.sha256(tarball.read_bytes()).hexdigest()
    assert inspect["RootFS"]["Layers"] == [expected]  # the layer's diff_id is the digest of what we sent
    docker("rmi", "e2e/big:1")


def test_image_list_filters(docker: DockerCLI, busybox_tar: bytes) -> None:
    first = docker("import", "--change", "LABEL e2e.order=first", "-", "e2e/order:first", input=busybox_tar)
    second = docker(
        "import", "--change", "LABEL e2e.order=second", "-", "e2e/order:second", input=busybox_tar
    )
    first_id, second_id = first.out.strip(), second.out.strip()

    def listed(*filters: str) -> list[str]:
        args = [a for f in filters for a in ("--filter", f)]
        return docker("images", "--no-trunc", "--format", "{{.ID}}", *args).out.split()

    assert listed("reference=e2e/order") == [second_id, first_id]  # newest first
    assert listed("since=e2e/order:first", "reference=e2e/order") == [second_id]
    assert listed("before=e2e/order:second", "reference=e2e/order") == [first_id]
    assert listed("label=e2e.order=second") == [second_id]
    assert listed("label=e2e.order") == [second_id, first_id]
    assert first_id not in listed("dangling=true")
    docker("rmi", "e2e/order:first", "e2e/order:second")


def test_volume_filters_and_driver_opts(docker: DockerCLI) -> None:
    docker("volume", "create", "e2e-used")
    docker("volume", "create", "e2e-idle")
    docker("create", "--name", "e2e-vol-holder", "-v", "e2e-used:/data", "busybox", "true")

    def names(*filters: str) -> set[str]:
        args = [a for f in filters for a in ("--filter", f)]
        return {n for n in docker("volume", "ls", "-q", *args).out.split() if n.startswith("e2e-")}

    assert names("dangling=true") == {"e2e-idle"}
    assert names("dangling=false") == {"e2e-used"}
    assert names("name=e2e-id") == {"e2e-idle"}
    assert names("driver=local") >= {"e2e-used", "e2e-idle"}

    docker(
        "volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", "o=size=2m", "e2e-tmpfs"
    )
    info = json.loads(docker("volume", "inspect", "e2e-tmpfs").out)[0]
    assert info["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=2m"}
    out = docker(
        "run",
        "--rm",
        "-v",
        "e2e-tmpfs:/data",
        "busybox",
        "sh",
        "-c",
        "grep ' /data ' /proc/mounts | cut -d' ' -f3; df -k /data | tail -1",
    ).out.splitlines()
    assert out[0] == "tmpfs"
    assert out[1].split()[1] == "2048"  # size=2m
