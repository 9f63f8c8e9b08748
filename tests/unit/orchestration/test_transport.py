"""composer's Engine API client at the HTTP level: replies framed every way an engine frames them, split at
awkward places, against a small scripted server on a unix socket (the real engine and dockerd are covered
by the integration tests, which run every command through this client)."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import socket
import struct
import tarfile
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from composer.lite import Client
from composer.registry_auth import auth_header
from composer.transport import APIError, Endpoint

Handler = Callable[[bytes], list[bytes]]  # request head -> what to send, piece by piece


@contextmanager
def server(tmp_path: Path, handler: Handler) -> Iterator[tuple[Client, list[bytes]]]:
    """Serves each connection: reads request heads (and Content-Length bodies), sends the handler's pieces."""
    path = str(tmp_path / "s.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    requests: list[bytes] = []
    connections: list[socket.socket] = []

    def serve(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):  # the client (or the test's end) closed the connection
            _serve(conn)

    def _serve(conn: socket.socket) -> None:
        buf = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                while len(buf) < length:
                    buf += conn.recv(65536)
                requests.append(head + b"\r\n\r\n" + buf[:length])
                buf = buf[length:]
                for piece in handler(head):
                    if piece == b"<close>":
                        return
                    conn.sendall(piece)

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            connections.append(conn)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    client = Client(Endpoint("unix", path), timeout=5)
    try:
        yield client, requests
    finally:
        client.close()
        listener.close()
        for conn in connections:
            conn.close()


def _reply(body: bytes, status: str = "200 OK", extra: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


def _chunked(*parts: bytes) -> list[bytes]:
    out = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"]
    out += [f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts]
    return [*out, b"0\r\n\r\n"]


def test_json_calls_share_one_keep_alive_connection(tmp_path: Path) -> None:
    with server(tmp_path, lambda head: [_reply(b'[{"Id": "a"}]')]) as (client, requests):
        for _ in range(3):
            assert client.containers(all=True, filters={"label": ["x=y"]}) == [{"Id": "a"}]
        assert len(client._conns) == 1
    method, target, _ = requests[0].split(b"\r\n")[0].decode().split(" ")
    path, _, query = target.partition("?")
    assert (method, path) == ("GET", "/containers/json")
    params = urllib.parse.parse_qs(query)
    assert params["all"] == ["1"] and json.loads(params["filters"][0]) == {"label": ["x=y"]}


def test_error_reply_carries_status_and_the_engines_message(tmp_path: Path) -> None:
    body = b'{"message": "No such container: nope"}'
    with (
        server(tmp_path, lambda head: [_reply(body, "404 Not Found")]) as (client, _),
        pytest.raises(APIError) as info,
    ):
        client.inspect_container("nope")
    assert (info.value.status_code, info.value.explanation) == (404, "No such container: nope")


def test_a_closed_keep_alive_connection_is_retried_once_for_reads(tmp_path: Path) -> None:
    with server(tmp_path, lambda head: [_reply(b"{}"), b"<close>"]) as (client, requests):
        assert client.inspect_image("busybox") == {}
        assert client.inspect_image("busybox") == {}
    assert len(requests) == 2


def test_json_stream_split_inside_values_and_across_chunks(tmp_path: Path) -> None:
    pieces = _chunked(b'{"status": "Pul', b'ling"}\r\n{"status": "Done"}\n{"err', b'or": "boom"}\n')
    with server(tmp_path, lambda head: pieces) as (client, _):
        messages = list(client.pull("busybox", tag="1"))
    assert messages == [{"status": "Pulling"}, {"status": "Done"}, {"error": "boom"}]


def test_multiplexed_log_payloads_and_a_raw_tty_log(tmp_path: Path) -> None:
    frames = b"".join(struct.pack(">BxxxI", kind, len(p)) + p for kind, p in [(1, b"out\n"), (2, b"err\n")])
    with server(tmp_path, lambda head: _chunked(frames[:5], frames[5:13], frames[13:])) as (client, _):
        assert list(client.logs("c", stream=True)) == [b"out\n", b"err\n"]
    raw = b"2026-01-01T00:00:00.000000000Z hello\n"
    (tmp_path / "tty").mkdir()
    with server(tmp_path / "tty", lambda head: [_reply(raw, extra="Connection: close\r\n")]) as (client, _):
        assert client.logs("c") == raw


def test_close_delimited_body(tmp_path: Path) -> None:
    with server(tmp_path, lambda head: [b"HTTP/1.1 200 OK\r\n\r\n", b'{"a": ', b"1}", b"<close>"]) as (
        client,
        _,
    ):
        assert client.request("GET", "/x") == {"a": 1}


def test_hijack_keeps_the_bytes_sent_right_after_the_head(tmp_path: Path) -> None:
    head = b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n"
    with server(tmp_path, lambda h: [head + b"first output", b"<close>"]) as (client, requests):
        sock = client.attach_socket("c", params={"stdout": 1, "stream": 1})
        data = b""
        while chunk := sock.recv(100):
            data += chunk
        sock.close()
    assert data == b"first output"
    assert b"Upgrade: tcp" in requests[0]


def test_exec_output_is_the_frames_payloads(tmp_path: Path) -> None:
    frames = struct.pack(">BxxxI", 1, 3) + b"ab\n" + struct.pack(">BxxxI", 2, 2) + b"e\n"
    with server(tmp_path, lambda head: [_reply(frames)]) as (client, requests):
        assert client.exec_start({"Id": "e1"}) == b"ab\ne\n"
    assert requests[0].startswith(b"POST /exec/e1/start ")
    assert json.loads(requests[0].split(b"\r\n\r\n", 1)[1]) == {"Detach": False, "Tty": False}


def test_archive_stat_reads_the_path_stat_header(tmp_path: Path) -> None:
    stat = base64.b64encode(json.dumps({"name": "etc", "mode": 2147484141}).encode()).decode()
    replies = iter(
        [_reply(b"", extra=f"X-Docker-Container-Path-Stat: {stat}\r\n"), _reply(b"", "404 Not Found")]
    )

    def handler(head: bytes) -> list[bytes]:
        first = next(replies)
        # a HEAD reply announces a length but has no body
        return [
            first.split(b"\r\n\r\n")[0].replace(b"Content-Length: 0", b"Content-Length: 12") + b"\r\n\r\n"
        ]

    with server(tmp_path, handler) as (client, _):
        assert client.archive_stat("c", "/etc") == {"name": "etc", "mode": 2147484141}
        assert client.archive_stat("c", "/nope") is None


def test_registry_credentials_from_the_docker_config(tmp_path: Path) -> None:
    auth = base64.b64encode(b"me:secret").decode()
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"localhost:5000": {"auth": auth}}}))
    header = auth_header("localhost:5000/app", {"DOCKER_CONFIG": str(tmp_path)})
    decoded = json.loads(base64.urlsafe_b64decode(header["X-Registry-Auth"]))
    assert decoded == {"serveraddress": "localhost:5000", "username": "me", "password": "secret"}
    assert auth_header("busybox", {"DOCKER_CONFIG": str(tmp_path)}) == {}


def test_build_context_honours_dockerignore_but_keeps_the_dockerfile(tmp_path: Path) -> None:
    from composer.buildcontext import context_tar

    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    (tmp_path / ".dockerignore").write_text("Dockerfile\nsecret*\nlogs/\n")
    (tmp_path / "secret.key").write_text("x")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.log").write_text("x")
    (tmp_path / "app.sh").write_text("echo hi\n")
    data, name = context_tar(tmp_path, "Dockerfile")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = sorted(tar.getnames())
    assert name == "Dockerfile"
    assert names == [".dockerignore", "Dockerfile", "app.sh"]


def test_hosts_the_docker_cli_accepts() -> None:
    assert Endpoint.parse("unix:///run/x.sock", {}) == Endpoint("unix", "/run/x.sock")
    assert Endpoint.parse("tcp://10.0.0.1", {}) == Endpoint("tcp", "10.0.0.1:2375")
    assert Endpoint.parse("tcp://10.0.0.1", {"DOCKER_TLS_VERIFY": "1"}) == Endpoint("tls", "10.0.0.1:2376")
    assert Endpoint.parse("https://h:1234", {}) == Endpoint("tls", "h:1234")
    assert Endpoint.parse("ssh://me@h:2222", {}) == Endpoint("ssh", "me@h:2222")
    with pytest.raises(ValueError):
        Endpoint.parse("npipe:////./pipe/docker_engine", {})


# ---- the client's own percent-encoding: the same text urllib.parse writes ----

_SAMPLES = [
    "", "web", "app_web_1", "a b", "a+b", "a/b:c@d", "x?y=z&w", "100%", "~user.-_", "ünï©ødé", "tab\there",
    '{"label":["com.docker.compose.project=p"]}', "\x00\x7f", "日本語", "emoji 🐳", "#frag", "[::1]:80",
]  # fmt: skip


@pytest.mark.parametrize("value", _SAMPLES + ["".join(map(chr, range(0x20, 0x7F)))])
@pytest.mark.parametrize("safe", ["", "/:@", " "])
def test_quote_matches_urllib(value: str, safe: str) -> None:
    from composer.lite import _q

    assert _q(value, safe) == urllib.parse.quote(value, safe=safe)


def test_query_matches_urlencode() -> None:
    from composer.lite import _query

    pairs = [(k, v) for k, v in zip(_SAMPLES, reversed(_SAMPLES), strict=True)] + [("t", 10), ("all", "1")]
    assert _query(pairs) == urllib.parse.urlencode(pairs)
