"""GET /containers/{id}/attach/ws: docker-py's websocket attach (websocket-client, over the daemon's tcp
listener, the only way docker-py can make one) and raw RFC 6455 frames over the unix socket."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import struct
from collections.abc import Iterator

import docker
import pytest
import websocket

from tests.support.engine import EngineProcess, running_engine

pytestmark = pytest.mark.root

KEY = base64.b64encode(b"0123456789abcdef").decode()
ACCEPT = base64.b64encode(
    __import__("hashlib").sha1((KEY + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
).decode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def tcp_engine() -> Iterator[tuple[EngineProcess, int]]:
    if os.geteuid() != 0:
        pytest.skip("needs root; CI runs as root")
    port = _free_port()
    with running_engine(extra_args=("-H", f"tcp://127.0.0.1:{port}")) as eng:
        eng.run_host_config = {"NetworkMode": "none"}
        yield eng, port


@pytest.fixture
def ws_engine(tcp_engine: tuple[EngineProcess, int]) -> Iterator[tuple[EngineProcess, int]]:
    yield tcp_engine
    tcp_engine[0].remove_all_containers()


def _create(engine: EngineProcess, cmd: list[str], **config: object) -> str:
    body = {"Image": "busybox:latest", "Cmd": cmd, "HostConfig": {"NetworkMode": "none"}, **config}
    return str(engine.json("POST", "/containers/create", body)["Id"])


def _recv_until(ws: websocket.WebSocket, want: list[bytes]) -> bytes:
    got = b""
    while not all(w in got for w in want):  # output may come in any number of messages
        opcode, data = ws.recv_data()
        assert opcode == websocket.ABNF.OPCODE_BINARY, f"opcode {opcode}"
        got += data
    return got


def test_docker_py_websocket_attach_stdin_in_output_out(ws_engine: tuple[EngineProcess, int]) -> None:
    engine, port = ws_engine
    cid = _create(engine, ["sh", "-c", "read line; echo got:$line; echo oops >&2"], OpenStdin=True)
    client = docker.APIClient(base_url=f"tcp://127.0.0.1:{port}", version="1.47")
    try:
        ws = client.attach_socket(cid, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}, ws=True)
        ws.settimeout(60)
        engine.json("POST", f"/containers/{cid}/start", expect=204)
        ws.send_binary(b"hello\n")
        # stdout and stderr interleaved, without stdcopy headers (Docker never multiplexes a websocket)
        got = _recv_until(ws, [b"got:hello\n", b"oops\n"])
        assert got.replace(b"oops\n", b"") == b"got:hello\n"
        # the process exited: the server ends the session with a normal close
        assert ws.recv_data() == (websocket.ABNF.OPCODE_CLOSE, struct.pack("!H", 1000))
    finally:
        with contextlib.suppress(NameError):
            ws.shutdown()  # after a close exchange close() is a no-op: free the socket
        client.close()
    assert engine.json("POST", f"/containers/{cid}/wait")["StatusCode"] == 0


def test_docker_py_websocket_logs_replay_of_a_finished_container(
    ws_engine: tuple[EngineProcess, int],
) -> None:
    engine, port = ws_engine
    cid = engine.run(["sh", "-c", "echo first; echo second >&2"])
    engine.json("POST", f"/containers/{cid}/wait")
    client = docker.APIClient(base_url=f"tcp://127.0.0.1:{port}", version="1.47")
    try:
        ws = client.attach_socket(cid, params={"logs": 1, "stdout": 1, "stderr": 0}, ws=True)
        ws.settimeout(60)
        assert _recv_until(ws, [b"first\n"]) == b"first\n"
        assert ws.recv_data() == (websocket.ABNF.OPCODE_CLOSE, struct.pack("!H", 1000))
    finally:
        with contextlib.suppress(NameError):
            ws.shutdown()  # after a close exchange close() is a no-op: free the socket
        client.close()


# ---- raw frames over the unix socket ----


def _masked(opcode: int, payload: bytes, mask: bytes = b"\x37\xfa\x21\x3d") -> bytes:
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes((0x80 | opcode, 0x80 | len(payload))) + mask + body


def _read_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def _read_frame(s: socket.socket) -> tuple[int, bytes]:
    b0, b1 = _read_exact(s, 2)
    assert not b1 & 0x80, "server frames are never masked"
    n = b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", _read_exact(s, 2))
    elif n == 127:
        (n,) = struct.unpack("!Q", _read_exact(s, 8))
    return b0 & 0x0F, _read_exact(s, n)


@contextlib.contextmanager
def _handshake(engine: EngineProcess, path: str, key: str = KEY) -> Iterator[tuple[socket.socket, bytes]]:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(60)
    s.connect(str(engine.socket_path))
    try:
        s.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: docker\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1)
        yield s, head
    finally:
        s.close()


def test_raw_handshake_ping_and_close(engine: EngineProcess) -> None:
    cid = engine.run(["sleep", "30"], OpenStdin=True)
    with _handshake(engine, f"/v1.47/containers/{cid}/attach/ws?stream=1&stdout=1&stdin=1") as (s, head):
        lines = head.decode().split("\r\n")
        assert lines[0] == "HTTP/1.1 101 Switching Protocols"
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        assert headers["upgrade"] == "websocket" and headers["sec-websocket-accept"] == ACCEPT
        s.sendall(_masked(0x9, b"are you there"))
        assert _read_frame(s) == (0xA, b"are you there")
        s.sendall(_masked(0x8, struct.pack("!H", 1000) + b"bye"))
        opcode, payload = _read_frame(s)
        assert opcode == 0x8 and struct.unpack("!H", payload[:2])[0] == 1000
        assert s.recv(10) == b""  # then the server closes the connection
    # the container goes on: closing an attach session does not stop it
    assert engine.json("GET", f"/containers/{cid}/json")["State"]["Running"]


def test_raw_unmasked_frame_is_a_protocol_error(engine: EngineProcess) -> None:
    cid = engine.run(["sleep", "30"], OpenStdin=True)
    with _handshake(engine, f"/containers/{cid}/attach/ws?stream=1&stdin=1&stdout=1") as (s, _):
        s.sendall(bytes((0x82, 3)) + b"abc")  # a client frame without a mask
        opcode, payload = _read_frame(s)
        assert opcode == 0x8 and struct.unpack("!H", payload[:2])[0] == 1002


def test_raw_old_api_sends_text_and_attaches_all_streams(engine: EngineProcess) -> None:
    cid = _create(engine, ["sh", "-c", "read x; echo out-$x; echo err-$x >&2"], OpenStdin=True)
    # before API 1.42 the stdin/stdout/stderr params are ignored (all attached); before 1.28 text frames
    with _handshake(engine, f"/v1.27/containers/{cid}/attach/ws?stream=1") as (s, head):
        assert head.startswith(b"HTTP/1.1 101 ")
        engine.json("POST", f"/containers/{cid}/start", expect=204)
        s.sendall(_masked(0x1, b"hi\n"))
        got = b""
        while b"out-hi\n" not in got or b"err-hi\n" not in got:
            opcode, payload = _read_frame(s)
            assert opcode == 0x1
            got += payload


def test_raw_bad_handshake_is_a_json_400(engine: EngineProcess) -> None:
    cid = engine.run(["sleep", "30"])
    r = engine.request("GET", f"/containers/{cid}/attach/ws?stream=1")
    assert r.status == 400 and "Upgrade" in json.loads(r.body)["message"]
    with _handshake(engine, f"/containers/{cid}/attach/ws?stream=1", key="short") as (_, head):
        assert head.startswith(b"HTTP/1.1 400 ") and b"Sec-WebSocket-Key" in head + _.recv(200)
