"""A tiny loopback HTTP proxy in front of a registry that breaks blob downloads on purpose."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization"}


@dataclass
class Faults:
    """`drop`: cut the first `drop_times` downloads of these digests halfway. `corrupt`: flip a byte."""

    drop: set[str] = field(default_factory=set)
    drop_times: int = 1
    corrupt: set[str] = field(default_factory=set)
    drop_uploads: int = 0  # this many blob upload PUT/PATCH requests get no answer (connection closed)
    hang_up: bool = False  # close every connection after its answer although it promised keep-alive
    redirect: set[str] = field(default_factory=set)  # answered 307 to the registry under another name
    headers: list[dict[str, str]] = field(default_factory=list)  # request headers, in order
    clients: list[tuple[str, int]] = field(default_factory=list)  # the client connection of each request
    seen: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, Range header)
    dropped: dict[str, int] = field(default_factory=dict)
    ignore_range: bool = False  # answer Range requests with the whole blob (200), as some servers do


def _handler(upstream: str, faults: Faults) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _forward(self) -> None:
            faults.seen.append((self.command, self.path, self.headers.get("Range", "")))
            faults.headers.append(dict(self.headers.items()))
            faults.clients.append(self.client_address)
            if self.command == "GET" and self.path.rsplit("/", 1)[-1] in faults.redirect:
                port = upstream.rsplit(":", 1)[1]
                self.send_response(307)
                self.send_header("Location", f"http://localhost:{port}{self.path}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            if self.command in ("PUT", "PATCH") and "/blobs/uploads/" in self.path and faults.drop_uploads:
                faults.drop_uploads -= 1
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            # Host is kept: the registry builds upload Locations from it, so they point back at the proxy.
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            if faults.ignore_range:
                headers = {k: v for k, v in headers.items() if k.lower() != "range"}
            conn = http.client.HTTPConnection(upstream, timeout=30)
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            finally:
                conn.close()
            digest = self.path.rsplit("/", 1)[-1].split("?")[0]
            if self.command == "GET" and digest in faults.corrupt and data:
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            cut = (
                self.command == "GET"
                and resp.status in (200, 206)
                and digest in faults.drop
                and faults.dropped.get(digest, 0) < faults.drop_times
            )
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in _HOP | {"content-length"}:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command == "HEAD":
                return
            if cut:
                faults.dropped[digest] = faults.dropped.get(digest, 0) + 1
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.wfile.write(data)
            if faults.hang_up:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

    return Handler


@contextmanager
def fault_proxy(upstream: str, faults: Faults) -> Iterator[str]:
    """Serve on 127.0.0.1:<free port> and yield that host:port; stopped and closed on exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream, faults))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
