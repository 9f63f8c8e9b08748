"""A small read-only Engine API client over a unix socket, for the hot path (ping and observe).

docker-py costs ~0.13 s to import (requests, urllib3); a no-change `up` must finish in well under half a
second, and it only needs a handful of GETs. Writes, streams and non-unix hosts use docker-py
(`composer.client.Engine.api`). The methods mirror docker-py's names and return shapes so
`composer.observe` takes either.
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.parse
from typing import Any


class LiteError(Exception):
    """An HTTP error from the engine; `status_code` as docker-py's APIError has it."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.explanation = message


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


class ReadClient:
    def __init__(self, socket_path: str, timeout: float = 60.0) -> None:
        self._conn = _UnixConnection(socket_path, timeout)

    def close(self) -> None:
        self._conn.close()

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        query = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v is not None})
        self._conn.request("GET", path + (f"?{query}" if query else ""), headers={"Host": "docker"})
        reply = self._conn.getresponse()
        body = reply.read()
        if reply.status >= 400:
            try:
                message = str(json.loads(body).get("message", ""))
            except (ValueError, AttributeError):
                message = body.decode(errors="replace").strip()
            raise LiteError(reply.status, message or reply.reason)
        return json.loads(body) if body.strip() else None

    def ping(self) -> bool:
        self._conn.request("GET", "/_ping", headers={"Host": "docker"})
        reply = self._conn.getresponse()
        reply.read()
        return reply.status == 200

    @staticmethod
    def _filters(filters: dict[str, list[str]] | None) -> str | None:
        return json.dumps(filters) if filters else None

    def containers(
        self, all: bool = False, filters: dict[str, list[str]] | None = None
    ) -> list[dict[str, Any]]:
        return list(self.get("/containers/json", {"all": 1 if all else 0, "filters": self._filters(filters)}))

    def networks(self, filters: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
        return list(self.get("/networks", {"filters": self._filters(filters)}))

    def volumes(self, filters: dict[str, list[str]] | None = None) -> dict[str, Any]:
        return dict(self.get("/volumes", {"filters": self._filters(filters)}) or {})

    def inspect_image(self, ref: str) -> dict[str, Any]:
        return dict(self.get(f"/images/{urllib.parse.quote(ref, safe='/:@')}/json"))

    def inspect_container(self, ref: str) -> dict[str, Any]:
        return dict(self.get(f"/containers/{urllib.parse.quote(ref, safe='')}/json"))

    def inspect_network(self, ref: str) -> dict[str, Any]:
        return dict(self.get(f"/networks/{urllib.parse.quote(ref, safe='')}"))


def unix_path(host: str) -> str | None:
    """The socket path of a unix:// host, else None."""
    if host.startswith("unix://"):
        return host[len("unix://") :] or None
    return None
