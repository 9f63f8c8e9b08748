"""The container's filesystem through the API: changes, export, commit, sizes, GraphDriver, prune;
volumes with driver options; shared pid namespaces."""

from __future__ import annotations

import io
import json
import struct
import tarfile
from urllib.parse import quote

import pytest

from tests.support.engine import EngineProcess

pytestmark = pytest.mark.root


def _finished(engine: EngineProcess, cmd: list[str], **cfg: object) -> str:
    cid = engine.run(cmd, **cfg)
    engine.json("POST", f"/containers/{cid}/wait")
    return cid


def _text(engine: EngineProcess, cid: str) -> str:
    data = engine.request("GET", f"/containers/{cid}/logs?stdout=1&stderr=1").body
    out = b""
    while data:
        size = struct.unpack(">I", data[4:8])[0]
        out += data[8 : 8 + size]
        data = data[8 + size :]
    return out.decode()


def test_changes_export_sizes(engine: EngineProcess) -> None:
    cid = _finished(engine, ["sh", "-c", "echo new > /new.txt; rm /etc/group; echo x >> /etc/passwd"])
    changes = {(c["Path"], c["Kind"]) for c in engine.json("GET", f"/containers/{cid}/changes")}
    assert ("/new.txt", 1) in changes and ("/etc/group", 2) in changes and ("/etc/passwd", 0) in changes
    r = engine.request("GET", f"/containers/{cid}/export")
    assert r.status == 200
    with tarfile.open(fileobj=io.BytesIO(r.body)) as tar:
        names = set(tar.getnames())
        assert {"new.txt", "bin/busybox", ".dockerenv"} <= names and "etc/group" not in names
        assert tar.extractfile("new.txt").read() == b"new\n"  # type: ignore[union-attr]
    c = engine.json("GET", f"/containers/{cid}/json?size=1")
    assert c["SizeRw"] > 0 and c["SizeRootFs"] > c["SizeRw"]
    assert set(c["GraphDriver"]["Data"]) >= {"UpperDir", "MergedDir", "LowerDir", "WorkDir"}
    listed = engine.json("GET", "/containers/json?all=1&size=1&filters=" + quote(json.dumps({"id": [cid]})))
    assert listed[0]["SizeRw"] == c["SizeRw"]


def test_commit_makes_an_image(engine: EngineProcess) -> None:
    cid = _finished(engine, ["sh", "-c", "echo committed > /marker"])
    r = engine.request(
        "POST",
        f"/commit?container={cid}&repo=snap&tag=v1&comment=hi&changes=ENV%20SNAP%3D1",
        {"Cmd": ["cat", "/marker"]},
    )
    assert r.status == 201, r.body
    image = engine.json("GET", "/images/snap:v1/json")
    assert image["Id"] == r.json()["Id"] and image["Comment"] == "hi" and "SNAP=1" in image["Config"]["Env"]
    new = _finished(engine, [], Image="snap:v1")
    assert _text(engine, new) == "committed\n"


def test_prune_removes_stopped_only(engine: EngineProcess) -> None:
    running = engine.run(["sleep", "60"])
    keep = _finished(engine, ["true"], Labels={"keep": "yes"})
    gone = _finished(engine, ["true"])
    r = engine.json("POST", "/containers/prune?filters=" + quote(json.dumps({"label!": ["keep=yes"]})))
    assert r["ContainersDeleted"] == [gone]
    ids = {c["Id"] for c in engine.json("GET", "/containers/json?all=1")}
    assert {running, keep} <= ids and gone not in ids


def test_volume_with_driver_options_is_mounted_for_its_users(engine: EngineProcess) -> None:
    engine.json(
        "POST",
        "/volumes/create",
        {"Name": "tmpvol", "DriverOpts": {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}},
    )
    cid = _finished(
        engine,
        ["sh", "-c", "grep -c ' /data tmpfs' /proc/mounts; echo hi > /data/f; cat /data/f"],
        HostConfig={"Binds": ["tmpvol:/data"]},
    )
    assert _text(engine, cid).split() == ["1", "hi"]
    engine.request("DELETE", f"/containers/{cid}")
    assert engine.request("DELETE", "/volumes/tmpvol").status == 204


def test_pid_and_ipc_namespace_of_another_container(engine: EngineProcess) -> None:
    first = engine.run(["sleep", "60"])
    cid = _finished(
        engine,
        ["sh", "-c", "ps -o comm | grep -c sleep"],
        HostConfig={"PidMode": f"container:{first}", "IpcMode": f"container:{first}"},
    )
    assert _text(engine, cid).strip() == "1"


def test_image_volume_becomes_an_anonymous_volume_filled_from_the_image(engine: EngineProcess) -> None:
    base = _finished(engine, ["sh", "-c", "mkdir -p /data && echo seeded > /data/seed"])
    r = engine.request("POST", f"/commit?container={base}&repo=withvol&changes=VOLUME%20%2Fdata", {})
    assert r.status == 201, r.body
    cid = _finished(engine, ["cat", "/data/seed"], Image="withvol")
    assert _text(engine, cid) == "seeded\n"
    (mount,) = engine.json("GET", f"/containers/{cid}/json")["Mounts"]
    assert mount["Type"] == "volume" and mount["Destination"] == "/data" and len(mount["Name"]) == 64
    assert engine.request("DELETE", f"/containers/{cid}?v=1").status == 204
    assert engine.request("GET", f"/volumes/{mount['Name']}").status == 404
