"""--userns-remap: container root is an unprivileged host uid (the user's /etc/subuid range), image layers
are seen as root's inside and what the container writes is stored under the remapped ids, volumes
likewise; `UsernsMode: host` is the escape hatch; privileged or host-network containers are refused as
dockerd refuses them. The user and its subordinate ranges are made here and removed afterwards."""

from __future__ import annotations

import secrets
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.engine import EngineProcess, running_engine

pytestmark = pytest.mark.root

SIZE = 65536


def _ends(path: Path) -> list[int]:
    out = []
    for line in path.read_text().splitlines() if path.exists() else []:
        parts = line.split(":")
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            out.append(int(parts[1]) + int(parts[2]))
    return out


def _range(path: Path, user: str) -> int | None:
    for line in path.read_text().splitlines() if path.exists() else []:
        if line.startswith(f"{user}:"):
            return int(line.split(":")[1])
    return None


def _drop_lines(path: Path, prefix: str) -> None:
    if path.exists():
        kept = [line for line in path.read_text().splitlines(keepends=True) if not line.startswith(prefix)]
        path.write_text("".join(kept))


@pytest.fixture(scope="module")
def remapped() -> Iterator[tuple[EngineProcess, int]]:
    user = "ctr" + secrets.token_hex(3)
    subuid, subgid = Path("/etc/subuid"), Path("/etc/subgid")
    subprocess.run(["useradd", "-M", "-N", "-s", "/bin/false", user], check=True, capture_output=True)
    try:
        # Debian's useradd gives a new user subordinate ranges itself; else the test adds them
        given = [_range(path, user) for path in (subuid, subgid)]
        start = given[0] if given[0] is not None and given[0] == given[1] else None
        if start is None:
            _drop_lines(subuid, f"{user}:")
            _drop_lines(subgid, f"{user}:")
            start = max([400000, *_ends(subuid), *_ends(subgid)])
            for path in (subuid, subgid):
                with open(path, "a") as f:
                    f.write(f"{user}:{start}:{SIZE}\n")
        with running_engine(extra_args=("--userns-remap", user, "--default-runtime", "runc")) as eng:
            eng.base.chmod(0o711)  # the test's temp dir above the data root: the remapped root passes it
            eng.run_host_config = {"NetworkMode": "none"}
            yield eng, start
    finally:
        for path in (subuid, subgid):
            _drop_lines(path, f"{user}:")
        subprocess.run(["userdel", user], capture_output=True)


def _logs(engine: EngineProcess, cid: str) -> str:
    assert engine.json("POST", f"/containers/{cid}/wait")["StatusCode"] == 0
    data = engine.request("GET", f"/containers/{cid}/logs?stdout=1&stderr=1").body
    text = b""
    while data:
        size = struct.unpack(">I", data[4:8])[0]
        text += data[8 : 8 + size]
        data = data[8 + size :]
    return text.decode()


def _host_uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError("no Uid line")


def test_container_root_is_an_unprivileged_host_uid(remapped: tuple[EngineProcess, int]) -> None:
    engine, start = remapped
    assert "name=userns" in engine.json("GET", "/info")["SecurityOptions"]  # docker info shows it
    cid = engine.run(["sleep", "300"])
    pid = engine.json("GET", f"/containers/{cid}/json")["State"]["Pid"]
    assert _host_uid(pid) == start, engine.log()[-3000:]
    engine.request("DELETE", f"/containers/{cid}?force=1")


def test_layers_are_roots_inside_and_writes_are_stored_remapped(remapped: tuple[EngineProcess, int]) -> None:
    engine, start = remapped
    cid = engine.run(
        ["sh", "-c", "id -u; stat -c '%u %g' /etc/passwd /bin/busybox; touch /etc/made && echo ok"]
    )
    assert _logs(engine, cid).split("\n")[:4] == ["0", "0 0", "0 0", "ok"]
    upper = Path(engine.json("GET", f"/containers/{cid}/json")["GraphDriver"]["Data"]["UpperDir"])
    made = (upper / "etc" / "made").stat()
    assert (made.st_uid, made.st_gid) == (start, start)
    layer_file = Path(
        engine.json("GET", f"/containers/{cid}/json")["GraphDriver"]["Data"]["LowerDir"].split(":")[0]
    )
    assert (layer_file / "bin" / "busybox").stat().st_uid == 0  # the image's layers are not copied or chowned


def test_volumes_are_owned_by_the_remapped_root(remapped: tuple[EngineProcess, int]) -> None:
    engine, start = remapped
    mounts = [{"Type": "volume", "Source": "remapvol", "Target": "/data"}]
    cid = engine.run(["sh", "-c", "touch /data/f && stat -c '%u' /data/f"], HostConfig={"Mounts": mounts})
    assert _logs(engine, cid).strip() == "0"
    source = Path(engine.json("GET", "/volumes/remapvol")["Mountpoint"])
    assert (source / "f").stat().st_uid == start


def test_userns_host_is_the_escape_hatch(remapped: tuple[EngineProcess, int]) -> None:
    engine, _ = remapped
    cid = engine.run(["cat", "/proc/self/uid_map"], HostConfig={"UsernsMode": "host"})
    assert _logs(engine, cid).split() == ["0", "0", "4294967295"]
    cid = engine.run(["sleep", "300"], HostConfig={"UsernsMode": "host"})
    assert _host_uid(engine.json("GET", f"/containers/{cid}/json")["State"]["Pid"]) == 0
    engine.request("DELETE", f"/containers/{cid}?force=1")


@pytest.mark.parametrize(
    ("host_config", "message"),
    [
        ({"Privileged": True}, "privileged mode is incompatible with user namespaces."),
        (
            {"NetworkMode": "host"},
            "cannot share the host's network namespace when user namespaces are enabled",
        ),
    ],
)
def test_refused_in_a_remapped_namespace(
    remapped: tuple[EngineProcess, int], host_config: dict[str, object], message: str
) -> None:
    engine, _ = remapped
    r = engine.request(
        "POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"], "HostConfig": host_config}
    )
    assert r.status == 400 and r.message.startswith(message)
    ok = engine.request(
        "POST",
        "/containers/create",
        {"Image": "busybox", "Cmd": ["true"], "HostConfig": {**host_config, "UsernsMode": "host"}},
    )
    assert ok.status == 201, ok.message


def test_default_makes_dockremap_with_ranges() -> None:
    """`--userns-remap default`, as dockerd: the user dockremap and its ranges are made when missing."""
    subuid, subgid = Path("/etc/subuid"), Path("/etc/subgid")
    if subprocess.run(["id", "dockremap"], capture_output=True).returncode == 0:
        pytest.skip("this host already has a dockremap user: not ours to remove afterwards")
    try:
        with running_engine(extra_args=("--userns-remap", "default", "--default-runtime", "runc")) as eng:
            eng.base.chmod(0o711)
            start = _range(subuid, "dockremap")
            assert start is not None and _range(subgid, "dockremap") is not None
            cid = eng.run(["sleep", "300"], HostConfig={"NetworkMode": "none"})
            assert _host_uid(eng.json("GET", f"/containers/{cid}/json")["State"]["Pid"]) == start
            eng.request("DELETE", f"/containers/{cid}?force=1")
    finally:
        subprocess.run(["userdel", "dockremap"], capture_output=True)
        subprocess.run(["groupdel", "dockremap"], capture_output=True)
        for path in (subuid, subgid):
            _drop_lines(path, "dockremap:")
