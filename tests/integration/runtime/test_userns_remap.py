"""--userns-remap, with the built-in runtime and with runc: container root is an unprivileged host uid (the
user's /etc/subuid range) and PID 1 of its own user namespace, image layers are seen as root's inside and
what the container writes is stored under the remapped ids, volumes likewise; exec runs in the same user
namespace; `UsernsMode: host` is the escape hatch; privileged or host-network containers are refused as
dockerd refuses them. The user and its subordinate ranges are made here and removed afterwards."""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import struct
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import dockerd
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


def _runtime_args(runtime: str) -> tuple[str, ...]:
    return ("--default-runtime", "runc") if runtime == "runc" else ()


@contextlib.contextmanager
def _remap_user(with_group: bool = False) -> Iterator[tuple[str, int]]:
    """A throwaway user (and its group, which dockerd wants) with subordinate ranges; (name, first id)."""
    user = "ctr" + secrets.token_hex(3)
    subuid, subgid = Path("/etc/subuid"), Path("/etc/subgid")
    subprocess.run(["useradd", "-M", "-U" if with_group else "-N", "-s", "/bin/false", user], check=True,
                   capture_output=True)
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
        yield user, start
    finally:
        for path in (subuid, subgid):
            _drop_lines(path, f"{user}:")
        subprocess.run(["userdel", user], capture_output=True)
        if with_group:
            subprocess.run(["groupdel", user], capture_output=True)


@pytest.fixture(scope="module", params=["composer", "runc"])
def remapped(request: pytest.FixtureRequest) -> Iterator[tuple[EngineProcess, int]]:
    with _remap_user() as (user, start), running_engine(
        extra_args=("--userns-remap", user, *_runtime_args(request.param))
    ) as eng:
        eng.base.chmod(0o711)  # the test's temp dir above the data root: the remapped root passes it
        eng.run_host_config = {"NetworkMode": "none"}
        yield eng, start


@pytest.fixture(scope="module")
def remapped_dockerd() -> Iterator[tuple[dict[str, str], int]]:
    """A private dockerd 20.10 with --userns-remap: (docker CLI env, the remapped root's host uid)."""
    if not dockerd.dockerd_installed():
        pytest.skip("dockerd (Debian's docker.io) is not installed")
    with _remap_user(with_group=True) as (user, start), dockerd.private_dockerd(
        extra_args=("--userns-remap", user)
    ) as (env, _tmp, _daemon):
        yield env, start


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
    engine.json("POST", f"/containers/{cid}/restart?t=0", expect=204)  # a new init, remapped again
    again = engine.json("GET", f"/containers/{cid}/json")["State"]["Pid"]
    assert again != pid and _host_uid(again) == start
    engine.request("DELETE", f"/containers/{cid}?force=1")


def test_layers_are_roots_inside_and_writes_are_stored_remapped(remapped: tuple[EngineProcess, int]) -> None:
    engine, start = remapped
    script = "id -u; stat -c '%u %g' /etc/passwd /bin/busybox /.dockerenv; touch /etc/made && echo ok"
    cid = engine.run(["sh", "-c", script])
    assert _logs(engine, cid).split("\n")[:5] == ["0", "0 0", "0 0", "0 0", "ok"]
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


@pytest.mark.parametrize("runtime", ["composer", "runc"])
def test_default_makes_dockremap_with_ranges(runtime: str) -> None:
    """`--userns-remap default`, as dockerd: the user dockremap and its ranges are made when missing."""
    subuid, subgid = Path("/etc/subuid"), Path("/etc/subgid")
    if subprocess.run(["id", "dockremap"], capture_output=True).returncode == 0:
        pytest.skip("this host already has a dockremap user: not ours to remove afterwards")
    try:
        with running_engine(extra_args=("--userns-remap", "default", *_runtime_args(runtime))) as eng:
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


def _docker(engine: EngineProcess, *args: str) -> tuple[int, str]:
    """The real docker CLI: exec and `run -t` go through its whole path (hijack, TTY)."""
    env = {"DOCKER_HOST": engine.docker_host, "PATH": os.environ["PATH"], "HOME": str(engine.base)}
    res = subprocess.run(["docker", *args], capture_output=True, text=True, env=env, timeout=60)
    return res.returncode, res.stdout + res.stderr


def test_inside_the_ids_are_the_namespaces(remapped: tuple[EngineProcess, int]) -> None:
    """The container sees itself as root and PID 1 of its own user namespace, whose map is the range."""
    engine, start = remapped
    cid = engine.run(["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; echo $$; id"])
    lines = _logs(engine, cid).splitlines()
    assert [line.split() for line in lines[:2]] == [["0", str(start), str(SIZE)]] * 2
    assert lines[2] == "1"
    assert lines[3].startswith("uid=0(root) gid=0(root)")


def test_a_container_user_and_ulimits(remapped: tuple[EngineProcess, int]) -> None:
    """A non-root container user is start+uid on the host, with its additional groups (setgroups stays
    allowed: the maps were written by the host's root); ulimits are applied as before."""
    engine, start = remapped
    cid = engine.run(["sleep", "300"], User="1000:1000", HostConfig={
        "GroupAdd": ["10"], "Ulimits": [{"Name": "nofile", "Soft": 1234, "Hard": 2345}]})
    try:
        pid = engine.json("GET", f"/containers/{cid}/json")["State"]["Pid"]
        status = Path(f"/proc/{pid}/status").read_text()
        assert _host_uid(pid) == start + 1000
        assert next(line for line in status.splitlines() if line.startswith("Groups:")).split()[1:] == [
            str(start + 10)]
        nofile = next(line for line in Path(f"/proc/{pid}/limits").read_text().splitlines()
                      if line.startswith("Max open files"))
        assert nofile.split()[3:5] == ["1234", "2345"]
    finally:
        engine.request("DELETE", f"/containers/{cid}?force=1")


def test_exec_joins_the_container_user_namespace(remapped: tuple[EngineProcess, int]) -> None:
    engine, start = remapped
    cid = engine.run(["sleep", "300"])
    pid = engine.json("GET", f"/containers/{cid}/json")["State"]["Pid"]
    try:
        code, out = _docker(engine, "exec", cid, "sh", "-c", "id -u; readlink /proc/self/ns/user; "
                            "grep ^Uid: /proc/self/status; touch /tmp/by-exec && echo made")
        assert code == 0, out
        uid, ns, status, made = out.splitlines()
        assert uid == "0" and made == "made"
        assert ns == os.readlink(f"/proc/{pid}/ns/user") != os.readlink("/proc/self/ns/user")
        assert status.split()[1:] == ["0"] * 4
        # from the host: an exec'd process is the mapped uid too, and its file the remapped root's
        code, out = _docker(engine, "exec", "-d", cid, "sleep", "300")
        assert code == 0, out
        children = [p for p in Path("/proc").iterdir() if p.name.isdigit() and p.name != str(pid)]
        sleeps = [int(p.name) for p in children
                  if _cmdline(p) == "sleep\x00300" and _same_ns(p, pid)]
        assert sleeps and all(_host_uid(p) == start for p in sleeps)
        upper = Path(engine.json("GET", f"/containers/{cid}/json")["GraphDriver"]["Data"]["UpperDir"])
        assert (upper / "tmp" / "by-exec").stat().st_uid == start
        code, out = _docker(engine, "exec", "-t", cid, "sh", "-c", "tty; id -u")
        assert code == 0 and out.replace("\r", "").split() == ["/dev/pts/0", "0"], out
    finally:
        engine.request("DELETE", f"/containers/{cid}?force=1")


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_text().rstrip("\x00")
    except OSError:
        return ""


def _same_ns(proc: Path, pid: int) -> bool:
    try:
        return os.readlink(proc / "ns" / "user") == os.readlink(f"/proc/{pid}/ns/user")
    except OSError:
        return False


def test_bridge_network_and_a_read_only_sys(remapped: tuple[EngineProcess, int]) -> None:
    """On the engine's bridge (a network namespace the host's root made), the container still starts:
    sysfs, refused there, is the host's /sys bound read-only (runc's fallback); its eth0 is up and it
    cannot write below /sys. Without a network the container's own network namespace gets its own sysfs."""
    engine, _ = remapped
    host_sys = os.stat("/sys").st_dev
    script = ("awk '$5 == \"/sys\" {print $3 \",\" $6}' /proc/self/mountinfo; ip -4 -o addr show | wc -l;"
              " (echo 1 > /sys/kernel/profiling) 2>/dev/null && echo wrote || echo refused")
    for network, addresses, same_sysfs in (("bridge", "2", True), ("none", "1", False)):
        cid = engine.run(["sh", "-c", script], HostConfig={"NetworkMode": network})
        device, count, write = _logs(engine, cid).split()
        major, minor, options = device.replace(":", ",").split(",", 2)
        assert options.startswith("ro,") and (count, write) == (addresses, "refused"), network
        assert (os.makedev(int(major), int(minor)) == host_sys) is same_sysfs, network


def test_tty_and_devices(remapped: tuple[EngineProcess, int]) -> None:
    """A TTY from the container's own devpts, and a --device bound from the host (mknod is refused in a
    user namespace)."""
    engine, start = remapped
    code, out = _docker(engine, "run", "--rm", "-t", "--network", "none", "--device", "/dev/fuse",
                        "busybox", "sh", "-c", "tty; test -c /dev/fuse && echo fuse; id -u")
    assert code == 0, out
    assert out.replace("\r", "").split() == ["/dev/pts/0", "fuse", "0"]


def test_sharing_a_pid_namespace_joins_that_user_namespace(remapped: tuple[EngineProcess, int]) -> None:
    """`--pid container:X` under remapping: X's pid namespace belongs to X's user namespace, which the new
    container joins (dockerd's rule), so it can mount its /proc and sees X's processes."""
    engine, start = remapped
    first = engine.run(["sleep", "300"])
    pid = engine.json("GET", f"/containers/{first}/json")["State"]["Pid"]
    try:
        script = "cat /proc/1/cmdline | tr '\\0' ' '; echo; readlink /proc/self/ns/user"
        second = engine.run(["sh", "-c", script], HostConfig={"PidMode": f"container:{first}"})
        cmdline, ns = _logs(engine, second).splitlines()
        assert cmdline.strip() == "sleep 300"
        assert ns == os.readlink(f"/proc/{pid}/ns/user")
    finally:
        engine.request("DELETE", f"/containers/{first}?force=1")


def test_a_v2_cgroup_is_delegated_to_the_remapped_root() -> None:
    """On cgroup v2 the container's cgroup directory and its delegatable files (the kernel's list) are the
    remapped root's, as runc leaves them; the limits files stay root's. A real cgroup2 mount: the host's
    own on a v2 host, the hybrid one beside v1."""
    from engine.runtime import cgroups

    mounts = [cgroups.CGROUP_ROOT] if cgroups.detect_version() == 2 else list(cgroups.hybrid_unified_mounts())
    if not mounts:
        pytest.skip("no cgroup2 mount on this host")
    root = Path(mounts[0])
    cg = cgroups.Cgroup(f"/composer-test/userns-{secrets.token_hex(4)}", root=root)
    cg.create({})
    try:
        cg.chown(400000, 400001)
        d = cg.dirs()["unified"]
        delegated = Path("/sys/kernel/cgroup/delegate").read_text().split()
        assert "cgroup.procs" in delegated
        for path in [d, *(d / name for name in delegated if (d / name).exists())]:
            assert (path.stat().st_uid, path.stat().st_gid) == (400000, 400001), path
        assert (d / "cgroup.max.depth").stat().st_uid == 0
    finally:
        cg.destroy()
        with contextlib.suppress(OSError):
            (root / "composer-test").rmdir()


NET_SYSCTLS = ("net.core.somaxconn", "net.ipv4.ip_forward")


def _host_sysctls(keys: tuple[str, ...]) -> dict[str, str]:
    return {key: Path("/proc/sys", key.replace(".", "/")).read_text().strip() for key in keys}


def _other_values(host: dict[str, str]) -> dict[str, str]:
    """Values the host does not have, so the container's reading them proves they were set there."""
    somaxconn = "1000" if host["net.core.somaxconn"] != "1000" else "1001"
    return {"net.core.somaxconn": somaxconn, "net.ipv4.ip_forward": "0" if host["net.ipv4.ip_forward"] != "0"
            else "1"}


def test_net_sysctls_on_a_bridge_network(remapped: tuple[EngineProcess, int]) -> None:
    """`--sysctl net.*` of a remapped container is set in its own network namespace, on the engine's bridge
    (a namespace the host's root made) as on a namespace of its own, as dockerd does; the host keeps its
    values, and /proc/sys stays read-only inside."""
    engine, _ = remapped
    before = _host_sysctls(NET_SYSCTLS)
    wanted = _other_values(before)
    script = ("cat /proc/sys/net/core/somaxconn /proc/sys/net/ipv4/ip_forward;"
              " (echo 5 > /proc/sys/net/core/somaxconn) 2>/dev/null && echo wrote || echo refused")
    try:
        for network in ("bridge", "none"):
            cid = engine.run(["sh", "-c", script], HostConfig={"NetworkMode": network, "Sysctls": wanted})
            seen = _logs(engine, cid).split()
            assert seen == [*wanted.values(), "refused"], (network, engine.log()[-2000:])
            assert _host_sysctls(NET_SYSCTLS) == before, network
    finally:
        after = _host_sysctls(NET_SYSCTLS)
        for key, value in before.items():  # never leave the host changed, whatever went wrong
            if after[key] != value:
                Path("/proc/sys", key.replace(".", "/")).write_text(value)
    assert after == before


def test_net_sysctls_as_dockerd(
    remapped: tuple[EngineProcess, int], remapped_dockerd: tuple[dict[str, str], int]
) -> None:
    """The same `docker run --sysctl net.*` on the default bridge, on our remapped engine and on a remapped
    dockerd 20.10: the same values inside, the host's unchanged."""
    engine, _ = remapped
    env, _ = remapped_dockerd
    before = _host_sysctls(NET_SYSCTLS)
    wanted = _other_values(before)
    args = ["run", "--rm", *(a for k, v in wanted.items() for a in ("--sysctl", f"{k}={v}")), "busybox",
            "sh", "-c", "cat /proc/sys/net/core/somaxconn /proc/sys/net/ipv4/ip_forward; id -u"]
    theirs = subprocess.run([dockerd.DOCKER, *args], env=env, capture_output=True, text=True, timeout=120)
    code, ours = _docker(engine, *args)
    assert theirs.returncode == 0, theirs.stderr
    assert theirs.stdout.split() == [*wanted.values(), "0"]
    assert code == 0 and ours.split() == theirs.stdout.split(), ours
    assert _host_sysctls(NET_SYSCTLS) == before


Docker = Callable[..., "subprocess.CompletedProcess[bytes]"]


def _docker_cli(env: dict[str, str]) -> Docker:
    def docker(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([dockerd.DOCKER, *args], env=env, input=stdin, capture_output=True, timeout=120)

    return docker


def _tar_of(entries: list[tuple[str, int]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, uid in entries:
            info = tarfile.TarInfo(name)
            info.uid = info.gid = uid
            info.size, info.mode = 2, 0o644
            tar.addfile(info, io.BytesIO(b"hi"))
    return buf.getvalue()


def _owners_in(tar_bytes: bytes) -> list[tuple[str, int, int]]:
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        return [(m.name, m.uid, m.gid) for m in tar]


def _cp_story(docker: Docker, start: int) -> list[object]:
    """docker cp into and out of a remapped container, stopped then running; ids relative to `start`."""
    seen: list[object] = []
    made = docker("create", "busybox", "sh", "-c",
                  "stat -c '%n %u %g' /f0 /f1000 /d /d/sub /d/sub/f; sleep 300")
    assert made.returncode == 0, made.stderr
    cid = made.stdout.decode().strip()
    try:
        put = docker("cp", "-", f"{cid}:/", stdin=_tar_of([("f0", 0), ("f1000", 1000), ("d/sub/f", 1000)]))
        seen.append(("put", put.returncode, put.stderr.decode().strip()))
        bad = docker("cp", "-", f"{cid}:/", stdin=_tar_of([("f70000", 70000)]))
        seen.append(("put 70000", bad.returncode != 0, bad.stderr.decode().strip().splitlines()[-1:]))
        shown = docker("inspect", "--format", "{{.GraphDriver.Data.UpperDir}}", cid)
        upper = Path(shown.stdout.decode().strip())
        for name in ("f0", "f1000", "d", "d/sub", "d/sub/f", "f70000"):
            path = upper / name
            if path.exists():
                seen.append(("host", name, path.stat().st_uid - start, path.stat().st_gid - start))
            else:
                seen.append(("host", name, "missing"))
        for state in ("stopped", "running"):
            if state == "running":
                assert docker("start", cid).returncode == 0
            for path in ("/f1000", "/etc/passwd"):
                got = docker("cp", f"{cid}:{path}", "-")
                assert got.returncode == 0, got.stderr
                seen.append(("get", state, [(n, u - start, g - start) for n, u, g in _owners_in(got.stdout)]))
            exported = docker("export", cid)
            assert exported.returncode == 0, exported.stderr
            seen.append(("export", state, [o for o in _owners_in(exported.stdout)
                                           if o[0] in ("etc/passwd", "f1000", "d/sub/f")]))
        deadline = time.monotonic() + 60
        while (logs := docker("logs", cid).stdout.decode()).count("\n") < 5 and time.monotonic() < deadline:
            time.sleep(0.2)
        seen.append(("inside", logs.splitlines()))
        put = docker("cp", "-", f"{cid}:/", stdin=_tar_of([("r1000", 1000)]))
        inside = docker("exec", cid, "stat", "-c", "%u %g", "/r1000")
        seen.append(("put running", put.returncode, inside.stdout.decode().strip(),
                     (upper / "r1000").stat().st_uid - start))
    finally:
        docker("rm", "-f", cid)
    return seen


def test_docker_cp_maps_owners_as_dockerd(
    remapped: tuple[EngineProcess, int], remapped_dockerd: tuple[dict[str, str], int]
) -> None:
    """`docker cp` (PUT/GET archive) with the docker CLI 28 against our remapped engine and a remapped
    dockerd 20.10: a tar entry's owner is a container id (0 is the remapped root, 1000 is 1000 inside,
    stored as start+id on the host; parents the archive does not list are the remapped root's; an id the
    map cannot hold is refused with dockerd's words). GET reports the ids as the host stores them, which
    is what dockerd 20.10 does, stopped or running; `docker export` the container's own ids."""
    engine, start = remapped
    env, theirs_start = remapped_dockerd
    ours_env = {**env, "DOCKER_HOST": engine.docker_host}
    theirs = _cp_story(_docker_cli(env), theirs_start)
    ours = _cp_story(_docker_cli(ours_env), start)
    assert theirs == [
        ("put", 0, ""),
        ("put 70000", True, ["Error response from daemon: Error processing tar file(exit status 1): "
                             "Container ID 70000 cannot be mapped to a host ID"]),
        ("host", "f0", 0, 0),
        ("host", "f1000", 1000, 1000),
        ("host", "d", 0, 0),
        ("host", "d/sub", 0, 0),
        ("host", "d/sub/f", 1000, 1000),
        ("host", "f70000", "missing"),
        ("get", "stopped", [("f1000", 1000, 1000)]),
        ("get", "stopped", [("passwd", 0, 0)]),
        ("export", "stopped", [("d/sub/f", 1000, 1000), ("etc/passwd", 0, 0), ("f1000", 1000, 1000)]),
        ("get", "running", [("f1000", 1000, 1000)]),
        ("get", "running", [("passwd", 0, 0)]),
        ("export", "running", [("d/sub/f", 1000, 1000), ("etc/passwd", 0, 0), ("f1000", 1000, 1000)]),
        ("inside", ["/f0 0 0", "/f1000 1000 1000", "/d 0 0", "/d/sub 0 0", "/d/sub/f 1000 1000"]),
        ("put running", 0, "1000 1000", 1000),
    ]
    assert ours == theirs
