"""HostConfig.VolumesFrom: a container gets another's bind and volume mounts (dockerd's semantics: the
`:ro`/`:rw` given wins, else each mount keeps its own mode; the container's own mounts win a shared
destination); a missing source and a bad mode are dockerd's 400s."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.engine import EngineProcess

pytestmark = pytest.mark.root


def _wait(engine: EngineProcess, cid: str) -> int:
    return int(engine.json("POST", f"/containers/{cid}/wait")["StatusCode"])


def _mounts(engine: EngineProcess, cid: str) -> dict[str, bool]:
    info = engine.json("GET", f"/containers/{cid}/json")
    return {m["Destination"]: m["RW"] for m in info["Mounts"]}


def test_volumes_from_copies_mounts_with_their_modes(engine: EngineProcess, tmp_path: Path) -> None:
    host = tmp_path / "host"
    host.mkdir()
    source = engine.run(
        ["sh", "-c", "echo hello > /data/f; sleep 3600"],
        HostConfig={"Binds": ["shared-data:/data", f"{host}:/host:ro"], "Tmpfs": {"/scratch": ""}},
    )
    inherit = engine.run(
        ["sh", "-c", "cat /data/f && echo more > /data/g"], HostConfig={"VolumesFrom": [source]}
    )
    assert _wait(engine, inherit) == 0
    assert _mounts(engine, inherit) == {"/data": True, "/host": False}  # tmpfs stays with its container
    readonly = engine.run(["touch", "/data/x"], HostConfig={"VolumesFrom": [f"{source}:ro"]})
    assert _wait(engine, readonly) != 0
    assert _mounts(engine, readonly) == {"/data": False, "/host": False}
    forced_rw = engine.run(["touch", "/host/y"], HostConfig={"VolumesFrom": [f"{source}:rw"]})
    assert _wait(engine, forced_rw) == 0 and (host / "y").exists()
    own = engine.run(["true"], HostConfig={"VolumesFrom": [source], "Binds": [f"{host}:/data"]})
    assert _wait(engine, own) == 0
    info = engine.json("GET", f"/containers/{own}/json")
    assert {m["Destination"]: m["Source"] for m in info["Mounts"]}["/data"] == str(host)


def test_volumes_from_errors_are_dockerds(engine: EngineProcess) -> None:
    missing = engine.request(
        "POST",
        "/containers/create",
        {"Image": "busybox:latest", "Cmd": ["true"], "HostConfig": {"VolumesFrom": ["nosuch"]}},
    )
    assert (missing.status, missing.message) == (400, "No such container: nosuch")  # dockerd 20.10: 400
    source = engine.run(["sleep", "3600"])
    bad = engine.request(
        "POST",
        "/containers/create",
        {"Image": "busybox:latest", "Cmd": ["true"], "HostConfig": {"VolumesFrom": [f"{source}:rx"]}},
    )
    assert (bad.status, bad.message) == (400, "invalid mode: rx")  # dockerd's words
