"""Container I/O over the API: logs, attach (hijacked), top, stats, archive, etc files, mounts."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import socket
import struct
import tarfile
import time
from pathlib import Path

import pytest

from tests.support.engine import EngineProcess

pytestmark = pytest.mark.root


def demux(data: bytes) -> list[tuple[int, bytes]]:
    out = []
    while data:
        stream, size = struct.unpack(">BxxxI", data[:8])
        out.append((stream, data[8 : 8 + size]))
        data = data[8 + size :]
    return out


def _finished(engine: EngineProcess, cmd: list[str], **cfg: object) -> str:
    cid = engine.run(cmd, **cfg)
    engine.json("POST", f"/containers/{cid}/wait")
    return cid


def test_logs_streams_tail_timestamps_since(engine: EngineProcess) -> None:
    cid = _finished(engine, ["sh", "-c", "echo one; echo two >&2; echo three"])
    frames = demux(engine.request("GET", f"/containers/{cid}/logs?stdout=1&stderr=1").body)
    # two pipes: order is kept within a stream, not across them (as with Docker)
    assert [f for f in frames if f[0] == 1] == [(1, b"one\n"), (1, b"three\n")]
    assert [f for f in frames if f[0] == 2] == [(2, b"two\n")]
    assert demux(engine.request("GET", f"/containers/{cid}/logs?stdout=1").body) == [
        (1, b"one\n"),
        (1, b"three\n"),
    ]
    assert demux(engine.request("GET", f"/containers/{cid}/logs?stdout=1&tail=1").body) == [(1, b"three\n")]
    assert len(demux(engine.request("GET", f"/containers/{cid}/logs?stdout=1&stderr=1&tail=2").body)) == 2
    stamped = demux(engine.request("GET", f"/containers/{cid}/logs?stderr=1&timestamps=1").body)
    ts, _, text = stamped[0][1].partition(b" ")
    assert text == b"two\n" and ts.endswith(b"Z") and ts.startswith(b"20")
    future = time.time() + 3600
    assert engine.request("GET", f"/containers/{cid}/logs?stdout=1&since={future}").body == b""
    r = engine.request("GET", f"/containers/{cid}/logs")
    assert r.status == 400 and "at least one stream" in r.message


def test_logs_tty_are_raw_and_follow_ends_with_container(engine: EngineProcess) -> None:
    cid = _finished(engine, ["sh", "-c", "echo tty-out"], Tty=True)
    r = engine.request("GET", f"/containers/{cid}/logs?stdout=1")
    assert r.body.replace(b"\r\n", b"\n") == b"tty-out\n"
    cid = engine.run(["sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.2; done"])
    # a follow that did not end with the container would run into the request's timeout
    body = engine.request("GET", f"/containers/{cid}/logs?stdout=1&follow=1", timeout=60).body
    assert [f[1] for f in demux(body)] == [b"line1\n", b"line2\n", b"line3\n"]


def _hijack(engine: EngineProcess, path: str, body: bytes = b"") -> tuple[socket.socket, bytes]:
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(engine.socket_path))
    s.settimeout(60)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    s.sendall(head + body)
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    headers, _, rest = buf.partition(b"\r\n\r\n")
    assert headers.startswith(b"HTTP/1.1 101"), headers
    assert b"application/vnd.docker.raw-stream" in headers
    return s, rest


def _read_all(s: socket.socket, rest: bytes) -> bytes:
    data = rest
    while chunk := s.recv(65536):
        data += chunk
    return data


def test_attach_before_start_gets_all_output_and_stdin(engine: EngineProcess) -> None:
    cid = engine.json(
        "POST",
        "/containers/create",
        {
            "Image": "busybox",
            "Cmd": ["sh", "-c", "echo early; read x; echo got:$x; echo bye >&2"],
            "OpenStdin": True,
            "StdinOnce": True,
            "AttachStdin": True,
        },
    )["Id"]
    s, rest = _hijack(engine, f"/containers/{cid}/attach?stream=1&stdin=1&stdout=1&stderr=1")
    with s:
        engine.json("POST", f"/containers/{cid}/start", expect=204)
        s.sendall(b"hello\n")
        s.shutdown(socket.SHUT_WR)  # stdin EOF; output must still arrive
        data = _read_all(s, rest)
    frames = demux(data)
    assert [f for f in frames if f[0] == 1] == [(1, b"early\n"), (1, b"got:hello\n")]
    assert [f for f in frames if f[0] == 2] == [(2, b"bye\n")]
    assert engine.json("POST", f"/containers/{cid}/wait")["StatusCode"] == 0


def test_attach_to_running_container_with_logs(engine: EngineProcess) -> None:
    # "after" comes once the test has attached (a file an exec makes), however slow the machine
    cid = engine.run(["sh", "-c", "echo before; until [ -e /tmp/go ]; do sleep 0.05; done; echo after"])
    deadline = time.monotonic() + 60
    while b"before" not in engine.request("GET", f"/containers/{cid}/logs?stdout=1").body:
        assert time.monotonic() < deadline, "no 'before' in the log"
        time.sleep(0.05)
    s, rest = _hijack(engine, f"/containers/{cid}/attach?stream=1&logs=1&stdout=1&stderr=1")
    with s:
        eid = engine.json("POST", f"/containers/{cid}/exec", {"Cmd": ["touch", "/tmp/go"]})["Id"]
        engine.request("POST", f"/exec/{eid}/start", {"Detach": True})
        data = _read_all(s, rest)
    assert [f[1] for f in demux(data)] == [b"before\n", b"after\n"]


def test_top_and_stats(engine: EngineProcess) -> None:
    cid = engine.run(["sleep", "60"])
    top = engine.json("GET", f"/containers/{cid}/top")
    assert "PID" in top["Titles"] and "CMD" in top["Titles"]
    assert any("sleep 60" in " ".join(p) for p in top["Processes"])
    top = engine.json("GET", f"/containers/{cid}/top?ps_args=-o%20pid,comm")
    assert top["Titles"] == ["PID", "COMMAND"] and top["Processes"][0][1] == "sleep"
    st = engine.json("GET", f"/containers/{cid}/stats?stream=0&one-shot=1")
    assert st["id"] == cid and st["name"].startswith("/")
    assert st["memory_stats"].get("usage", 0) > 0 and st["pids_stats"]["current"] >= 1
    assert st["cpu_stats"]["cpu_usage"]["total_usage"] > 0
    stopped = engine.json("POST", "/containers/create", {"Image": "busybox", "Cmd": ["true"]})["Id"]
    assert engine.request("GET", f"/containers/{stopped}/top").status == 409


def test_stats_stream_gives_precpu(engine: EngineProcess) -> None:
    cid = engine.run(["sleep", "60"])
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(engine.socket_path))
    s.settimeout(30)
    with s:
        s.sendall(f"GET /containers/{cid}/stats?stream=1 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        buf = b""
        deadline = time.monotonic() + 30  # a sample a second, on a loaded machine later
        while buf.count(b"\n{") < 2 and time.monotonic() < deadline:
            buf += s.recv(65536)
    samples = [
        json.loads(part)
        for line in buf.split(b"\r\n")
        if line.startswith(b"{")
        for part in line.split(b"\n")
        if part.strip()
    ]
    assert len(samples) >= 2
    assert samples[1]["precpu_stats"]["cpu_usage"]["total_usage"] > 0
    assert samples[1]["preread"] == samples[0]["read"]


def test_archive_head_get_put(engine: EngineProcess, tmp_path: Path) -> None:
    cid = engine.run(["sleep", "60"])
    r = engine.request("HEAD", f"/containers/{cid}/archive?path=/etc/passwd")
    assert r.status == 200
    stat = json.loads(base64.b64decode(r.headers["x-docker-container-path-stat"]))
    assert stat["name"] == "passwd" and stat["size"] > 0 and stat["mode"] == 0o644
    r = engine.request("GET", f"/containers/{cid}/archive?path=/etc")
    assert r.status == 200 and r.headers["content-type"] == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(r.body)) as tar:
        names = tar.getnames()
        assert "etc/passwd" in names and "etc/hosts" in names
        assert tar.extractfile("etc/passwd").read().startswith(b"root:")  # type: ignore[union-attr]
    dstat = json.loads(base64.b64decode(r.headers["x-docker-container-path-stat"]))
    assert dstat["mode"] & (1 << 31)  # Go's os.ModeDir
    assert engine.request("HEAD", f"/containers/{cid}/archive?path=/nope").status == 404
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"put works\n"
        info = tarfile.TarInfo("dir/new.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    r = engine.request("PUT", f"/containers/{cid}/archive?path=/tmp", buf.getvalue())
    assert r.status == 200, r.body
    r = engine.request("GET", f"/containers/{cid}/archive?path=/tmp/dir/new.txt")
    with tarfile.open(fileobj=io.BytesIO(r.body)) as tar:
        assert tar.extractfile("new.txt").read() == b"put works\n"  # type: ignore[union-attr]
    assert engine.request("PUT", f"/containers/{cid}/archive?path=/nope", buf.getvalue()).status == 404
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w") as tar:
        info = tarfile.TarInfo("../../../../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    r = engine.request("PUT", f"/containers/{cid}/archive?path=/tmp", evil.getvalue())
    assert r.status >= 400
    assert not Path("/escape.txt").exists() and not (tmp_path / "escape.txt").exists()


def _archive_servers(engine: EngineProcess) -> list[int]:
    """The engine's archive server processes (its children running engine.containers.archive_server)."""
    assert engine.proc is not None
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            server = b"engine.containers.archive_server" in (d / "cmdline").read_bytes()
            if ppid == engine.proc.pid and server:
                found.append(int(d.name))
    return found


def _put(engine: EngineProcess, cid: str, name: str, data: bytes) -> int:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return engine.request("PUT", f"/containers/{cid}/archive?path=/tmp", buf.getvalue()).status


def test_archive_helpers_come_from_one_server_that_is_restarted_when_it_died(engine: EngineProcess) -> None:
    cid = engine.run(["sleep", "60"])
    assert _put(engine, cid, "one.txt", b"1\n") == 200
    servers = _archive_servers(engine)
    assert len(servers) == 1
    assert _put(engine, cid, "two.txt", b"2\n") == 200
    assert _archive_servers(engine) == servers  # the same warm server forks every helper
    os.kill(servers[0], 9)
    assert _put(engine, cid, "three.txt", b"3\n") == 200  # a dead server is replaced, the request served
    again = _archive_servers(engine)
    assert len(again) == 1 and again != servers
    r = engine.request("GET", f"/containers/{cid}/archive?path=/tmp/three.txt")
    with tarfile.open(fileobj=io.BytesIO(r.body)) as tar:
        assert tar.extractfile("three.txt").read() == b"3\n"  # type: ignore[union-attr]
    # a helper's failure still reaches the client with its status and message
    r = engine.request("GET", f"/containers/{cid}/archive?path=/nope")
    assert r.status == 404 and b"/nope" in r.body


def test_archive_of_stopped_container(engine: EngineProcess) -> None:
    cid = _finished(engine, ["sh", "-c", "echo made > /made.txt"])
    r = engine.request("GET", f"/containers/{cid}/archive?path=/made.txt")
    assert r.status == 200
    with tarfile.open(fileobj=io.BytesIO(r.body)) as tar:
        assert tar.extractfile("made.txt").read() == b"made\n"  # type: ignore[union-attr]


def _output(engine: EngineProcess, cmd: list[str], **cfg: object) -> bytes:
    cid = _finished(engine, cmd, **cfg)
    return b"".join(
        f[1] for f in demux(engine.request("GET", f"/containers/{cid}/logs?stdout=1&stderr=1").body)
    )


def test_etc_files_and_dockerenv(engine: EngineProcess) -> None:
    out = _output(
        engine,
        ["sh", "-c", "cat /etc/hostname /etc/hosts /etc/resolv.conf; ls /.dockerenv"],
        Hostname="web",
        HostConfig={"ExtraHosts": ["db:10.1.2.3", "cache=10.1.2.4"]},
    )
    text = out.decode()
    assert text.startswith("web\n")
    assert "127.0.0.1\tlocalhost" in text and "10.1.2.3\tdb" in text and "10.1.2.4\tcache" in text
    assert "web" in text.split("\n", 1)[1]
    assert "nameserver" in text and "nameserver 127." not in text
    assert "/.dockerenv" in text


def test_mounts_binds_named_anonymous_tmpfs(engine: EngineProcess, tmp_path: Path) -> None:
    host = tmp_path / "bind"
    host.mkdir()
    (host / "in.txt").write_text("from host\n")
    cfg = {
        "Volumes": {"/anon": {}},
        "HostConfig": {
            "Binds": [f"{host}:/b", "named1:/n"],
            "Tmpfs": {"/t": "size=1m"},
            "Mounts": [{"Type": "bind", "Source": str(host), "Target": "/ro", "ReadOnly": True}],
        },
    }
    cmd = [
        "sh",
        "-c",
        "cat /b/in.txt; echo w > /b/out.txt; echo v > /n/v.txt; grep -c ' /t tmpfs' /proc/mounts;"
        " touch /ro/x 2>/dev/null || echo ro-denied; ls -d /anon",
    ]
    cid = _finished(engine, cmd, **cfg)
    out = b"".join(
        f[1] for f in demux(engine.request("GET", f"/containers/{cid}/logs?stdout=1&stderr=1").body)
    )
    assert out.decode().split() == ["from", "host", "1", "ro-denied", "/anon"]
    assert (host / "out.txt").read_text() == "w\n"
    mounts = {m["Destination"]: m for m in engine.json("GET", f"/containers/{cid}/json")["Mounts"]}
    assert mounts["/b"]["Type"] == "bind" and mounts["/b"]["RW"] is True
    assert mounts["/ro"]["RW"] is False
    assert mounts["/n"]["Type"] == "volume" and mounts["/n"]["Name"] == "named1"
    assert mounts["/anon"]["Type"] == "volume" and len(mounts["/anon"]["Name"]) == 64
    assert "/t" not in mounts
    assert Path(mounts["/n"]["Source"], "v.txt").read_text() == "v\n"
    # the named volume outlives the container; the anonymous one goes with rm -v
    anon = mounts["/anon"]["Name"]
    assert engine.request("DELETE", f"/containers/{cid}?v=1").status == 204
    assert engine.request("GET", "/volumes/named1").status == 200
    assert engine.request("GET", f"/volumes/{anon}").status == 404
    engine.request("DELETE", "/volumes/named1")


def test_new_volume_is_filled_from_the_image(engine: EngineProcess) -> None:
    out = _output(engine, ["ls", "/etc/"], HostConfig={"Binds": ["etcvol:/etc"]})
    assert b"passwd" in out
    engine.request("DELETE", "/volumes/etcvol")


def test_attach_clients_that_leave_are_forgotten(engine: EngineProcess) -> None:
    """A client that closes its attach to a silent container frees the daemon's sockets at once."""
    cid = engine.run(["sleep", "60"])
    pid = engine.proc.pid  # type: ignore[union-attr]

    def sockets() -> int:
        count = 0
        for f in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(FileNotFoundError):  # closed while we looked
                count += os.readlink(f"/proc/{pid}/fd/{f}").startswith("socket:")
        return count

    before = sockets()
    for _ in range(10):
        s, _rest = _hijack(engine, f"/containers/{cid}/attach?stream=1&stdout=1")
        s.close()
    deadline = time.monotonic() + 30  # far below the silent container's 60 s life
    while sockets() > before:
        assert time.monotonic() < deadline, (before, sockets())
        time.sleep(0.05)


def test_detach_keys_end_the_attach_and_leave_the_container_running(engine: EngineProcess) -> None:
    cid = engine.run(["cat"], OpenStdin=True, Tty=True)
    s, rest = _hijack(engine, f"/containers/{cid}/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-x,a")
    with s:
        s.sendall(b"hello\x18b\n")  # ctrl-x then b is not the sequence: it goes through
        data = rest
        while data.count(b"hello") < 2:  # the terminal's echo, then cat's copy
            data += s.recv(4096)
        s.sendall(b"\x18a")
        data = _read_all(s, data)  # the daemon ends the session
    assert b"\x18b" in data or b"^Xb" in data
    assert engine.json("GET", f"/containers/{cid}/json")["State"]["Running"]
    r = engine.request("POST", f"/containers/{cid}/attach?stream=1&stdin=1&detachKeys=ctrl-%3F%3F")
    assert r.status == 400 and "Invalid escape keys" in r.message
