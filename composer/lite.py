"""A small Engine API client over a unix socket for the hot path: ping, observe and the plan's calls.

docker-py costs ~0.15-0.2 s to import (requests, urllib3), which is most of a no-change `up` and a tenth
of a cold one. The JSON calls composer makes are done here with http.client (one keep-alive connection
per thread); methods mirror docker-py's names, arguments and return shapes, and anything else (pull and
build streams, logs, attach ...) is handed to a docker-py APIClient made on first use. Non-unix hosts
use docker-py throughout (`composer.client.Engine`).
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import urllib.parse
from collections.abc import Callable, Mapping
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
        try:
            sock.settimeout(self.timeout)
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class Client:
    def __init__(
        self, socket_path: str, timeout: float = 60.0, fallback: Callable[[], Any] | None = None
    ) -> None:
        self._path = socket_path
        self._timeout = timeout
        self._local = threading.local()
        self._fallback = fallback
        self._conns: list[_UnixConnection] = []
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        """Everything not implemented here goes to docker-py (streams, rarely used calls)."""
        if name.startswith("_") or self._fallback is None:
            raise AttributeError(name)
        return getattr(self._fallback(), name)

    def close(self) -> None:
        with self._lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()

    def _conn(self, timeout: float) -> _UnixConnection:
        conn: _UnixConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _UnixConnection(self._path, self._timeout)
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        *,
        extra_timeout: float = 0,
        raw_reply: bool = False,
    ) -> Any:
        query = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v is not None})
        headers = {"Host": "docker"}
        if isinstance(body, bytes):  # a tar archive
            data: bytes | None = body
            headers["Content-Type"] = "application/x-tar"
        else:
            data = json.dumps(body).encode() if body is not None else None
            if data is not None:
                headers["Content-Type"] = "application/json"
        conn = self._conn(self._timeout + extra_timeout)
        try:
            conn.request(method, path + (f"?{query}" if query else ""), body=data, headers=headers)
            reply = conn.getresponse()
            data_in = reply.read()
        except (OSError, http.client.HTTPException):
            conn.close()  # a broken keep-alive connection is not reused
            raise
        if reply.status == 304:
            return None  # already in that state: docker-py does not treat it as an error either
        if reply.status >= 400:
            try:
                message = str(json.loads(data_in).get("message", ""))
            except (ValueError, AttributeError):
                message = data_in.decode(errors="replace").strip()
            raise LiteError(reply.status, message or reply.reason)
        if raw_reply:
            return data_in
        return json.loads(data_in) if data_in.strip() else None

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params)

    def ping(self) -> bool:
        try:
            self.request("GET", "/_ping", raw_reply=True)
        except LiteError:
            return False
        return True

    @staticmethod
    def _filters(filters: Mapping[str, list[str]] | None) -> str | None:
        return json.dumps(dict(filters)) if filters else None

    # ---- reads ----
    def containers(self, all: bool = False, filters: Mapping[str, list[str]] | None = None) -> list[Any]:
        return list(self.get("/containers/json", {"all": 1 if all else 0, "filters": self._filters(filters)}))

    def networks(self, filters: Mapping[str, list[str]] | None = None) -> list[Any]:
        return list(self.get("/networks", {"filters": self._filters(filters)}))

    def volumes(self, filters: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
        return dict(self.get("/volumes", {"filters": self._filters(filters)}) or {})

    def inspect_image(self, ref: str) -> dict[str, Any]:
        return dict(self.get(f"/images/{_q(ref, '/:@')}/json"))

    def inspect_container(self, ref: str) -> dict[str, Any]:
        return dict(self.get(f"/containers/{_q(ref)}/json"))

    def inspect_network(self, ref: str) -> dict[str, Any]:
        return dict(self.get(f"/networks/{_q(ref)}"))

    # ---- writes (the plan's operations) ----
    def create_network(
        self,
        name: str,
        driver: str | None = None,
        options: Mapping[str, str] | None = None,
        ipam: Any = None,
        internal: bool = False,
        labels: Mapping[str, str] | None = None,
        enable_ipv6: bool = False,
        attachable: bool | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "Name": name,
            "Driver": driver,
            "Options": dict(options or {}),
            "Internal": internal,
            "Labels": dict(labels or {}),
            "EnableIPv6": enable_ipv6,
            "CheckDuplicate": True,
        }
        if ipam is not None:
            body["IPAM"] = dict(ipam)
        if attachable is not None:
            body["Attachable"] = attachable
        return dict(self.request("POST", "/networks/create", body=body) or {})

    def create_volume(
        self,
        name: str,
        driver: str | None = None,
        driver_opts: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        body = {
            "Name": name,
            "Driver": driver or "local",
            "DriverOpts": dict(driver_opts or {}),
            "Labels": dict(labels or {}),
        }
        return dict(self.request("POST", "/volumes/create", body=body) or {})

    def create_container_from_config(
        self, config: Mapping[str, Any], name: str | None = None
    ) -> dict[str, Any]:
        return dict(self.request("POST", "/containers/create", {"name": name}, body=dict(config)) or {})

    def put_archive_owned(self, container: str, path: str, data: bytes, copy_uid_gid: bool) -> None:
        """PUT /containers/{id}/archive; copy_uid_gid keeps the archive's owners (`docker cp -a`)."""
        params = {"path": path, "copyUIDGID": "true" if copy_uid_gid else None}
        self.request("PUT", f"/containers/{_q(container)}/archive", params, body=data, raw_reply=True)

    def start(self, container: str) -> None:
        self.request("POST", f"/containers/{_q(container)}/start")

    def stop(self, container: str, timeout: int | None = None) -> None:
        self.request("POST", f"/containers/{_q(container)}/stop", {"t": timeout}, extra_timeout=timeout or 0)

    def kill(self, container: str, signal: str | int | None = None) -> None:
        self.request("POST", f"/containers/{_q(container)}/kill", {"signal": signal})

    def remove_container(
        self, container: str, v: bool = False, link: bool = False, force: bool = False
    ) -> None:
        params = {"v": "1" if v else "0", "link": "1" if link else "0", "force": "1" if force else "0"}
        self.request("DELETE", f"/containers/{_q(container)}", params)

    def remove_network(self, net_id: str) -> None:
        self.request("DELETE", f"/networks/{_q(net_id)}")

    def remove_volume(self, name: str, force: bool = False) -> None:
        self.request("DELETE", f"/volumes/{_q(name)}", {"force": "1" if force else None})

    def remove_image(self, image: str, force: bool = False, noprune: bool = False) -> Any:
        return self.request(
            "DELETE",
            f"/images/{_q(image, '/:@')}",
            {"force": "1" if force else None, "noprune": "1" if noprune else None},
        )


ReadClient = Client  # the name observe's first version used


def _q(value: str, safe: str = "") -> str:
    return urllib.parse.quote(value, safe=safe)


def unix_path(host: str) -> str | None:
    """The socket path of a unix:// host, else None."""
    if host.startswith("unix://"):
        return host[len("unix://") :] or None
    return None
