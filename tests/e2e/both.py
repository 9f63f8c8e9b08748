"""One test, two engines: the same client calls run against our engine and against a private dockerd 20.10
(tests/support/dockerd.py), so a test states dockerd's behaviour once and proves ours matches it.

    def test_x(either: Engine) -> None:          # parametrized: [composer] and [dockerd]
        either.cli("run", "--rm", "busybox", "true")
        either.api("GET", "/info").json()
        either.client().containers.run(...)      # docker-py

Both engines hold the same busybox:latest (ours `docker save`d, loaded into dockerd: same image id).
`Engine.sweep()` removes what a test made (containers, volumes, networks, images beyond the start)."""

from __future__ import annotations

import contextlib
import json
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker as docker_sdk

from tests.e2e.helpers import DockerCLI
from tests.support.engine import Response, UnixHTTPConnection

ENGINES = ("composer", "dockerd")


@dataclass
class Engine:
    name: str  # "composer" or "dockerd"
    socket: Path
    cli: DockerCLI
    _clients: list[docker_sdk.DockerClient] = field(default_factory=list)

    @property
    def is_dockerd(self) -> bool:
        return self.name == "dockerd"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"

    def client(self, timeout: int = 60) -> docker_sdk.DockerClient:
        c = docker_sdk.DockerClient(base_url=self.docker_host, timeout=timeout)
        self._clients.append(c)
        return c

    def api(self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
            timeout: float = 60.0) -> Response:
        """A plain HTTP request on the engine's socket (versioned as the docker CLI 28 negotiates: v1.41)."""
        conn = UnixHTTPConnection(str(self.socket), timeout=timeout)
        try:
            hdrs = dict(headers or {})
            data = body
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode()
                hdrs.setdefault("Content-Type", "application/json")
            elif isinstance(body, str):
                data = body.encode()
            conn.request(method, path if path.startswith("/v") else "/v1.41" + path, body=data, headers=hdrs)
            resp = conn.getresponse()
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def open(self, method: str, path: str, body: Any = None, *, upgrade: bool = True,
             timeout: float = 30.0) -> tuple[socket.socket, bytes, bytes]:
        """Send one request on a fresh connection and read its head: (socket, head, bytes read past it).
        With `upgrade`, asks for the Docker hijack (`Upgrade: tcp`), as the docker CLI does."""
        data = json.dumps(body).encode() if body is not None else b""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(str(self.socket))
        head = (f"{method} /v1.41{path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\n")
        head += "Connection: Upgrade\r\nUpgrade: tcp\r\n" if upgrade else "Connection: close\r\n"
        sock.sendall(head.encode() + b"\r\n" + data)
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
        head_bytes, _, rest = got.partition(b"\r\n\r\n")
        return sock, head_bytes, rest

    def inventory(self) -> dict[str, set[str]]:
        def ids(*args: str) -> set[str]:
            res = self.cli(*args, check=False)
            return set(res.out.split()) if res.rc == 0 else set()

        return {
            "containers": ids("ps", "-aq", "--no-trunc"),
            "volumes": ids("volume", "ls", "-q"),
            "networks": ids("network", "ls", "-q", "--no-trunc"),
            "images": ids("images", "-a", "--no-trunc", "-q"),
        }

    def sweep(self, before: dict[str, set[str]]) -> None:
        for c in self._clients:
            c.close()
        self._clients.clear()
        after = self.inventory()
        with contextlib.suppress(Exception):
            if extra := sorted(after["containers"] - before["containers"]):
                self.cli("rm", "-f", "-v", *extra, check=False)
            if extra := sorted(after["networks"] - before["networks"]):
                self.cli("network", "rm", *extra, check=False)
            if extra := sorted(after["volumes"] - before["volumes"]):
                self.cli("volume", "rm", "-f", *extra, check=False)
            if extra := sorted(after["images"] - before["images"]):
                self.cli("rmi", "-f", *extra, check=False)


def read_all(sock: socket.socket, already: bytes = b"") -> bytes:
    """The rest of a stream, until the engine closes it."""
    out = already
    while chunk := sock.recv(65536):
        out += chunk
    sock.close()
    return out


def demux(stream: bytes) -> list[tuple[int, bytes]]:
    """stdcopy frames -> [(stream, payload)]; raises on bytes that are not frames."""
    frames = []
    while stream:
        assert len(stream) >= 8 and stream[0] in (0, 1, 2) and stream[1:4] == b"\0\0\0", stream[:16]
        size = int.from_bytes(stream[4:8], "big")
        frames.append((stream[0], stream[8:8 + size]))
        stream = stream[8 + size:]
    return frames
