"""HTTP/1.1 to an Engine API endpoint, over the sockets the docker CLI speaks: unix://, tcp:// (with TLS from
DOCKER_TLS_VERIFY / DOCKER_CERT_PATH, or https://) and ssh:// (the remote's `docker system dial-stdio`).

Only what the Engine API needs: one request at a time per connection (keep-alive), bodies by
Content-Length or chunked, a response read whole or as it arrives, and the hijack that attach/exec use (the
connection becomes a raw socket after the response head). http.client would do the HTTP part but its import
(email.parser and friends, ~10 ms) is a sixth of a `ps`; this is ~200 lines instead.

    endpoint = Endpoint.parse("unix:///run/composer/engine.sock", os.environ)
    conn = endpoint.connect(timeout=60)
    reply = conn.exchange("GET", "/containers/json", {"Host": "docker"})
    reply.read()            # or reply.chunks(), reply.frames(); conn.hijack(...) for attach
"""

from __future__ import annotations

import _socket  # the C socket type: `import socket` costs ~3 ms of a command's start (its enums)
import contextlib
import os
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from composer._typecheck import TYPE_CHECKING

if TYPE_CHECKING:
    import socket

_MAX_HEAD = 64 * 1024
_READ = 65536


class ProtocolError(OSError):
    """The engine's reply was not HTTP we understand (or the connection ended inside it)."""


@dataclass(frozen=True)
class Endpoint:
    """Where the engine listens and how to reach it."""

    scheme: str  # unix, tcp, tls, ssh
    address: str  # socket path, host:port, or the ssh destination
    environ: Mapping[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def parse(cls, host: str, environ: Mapping[str, str]) -> Endpoint:
        if host.startswith("unix://"):
            return cls("unix", host[len("unix://") :] or "/var/run/docker.sock", environ)
        if host.startswith("ssh://"):
            return cls("ssh", host[len("ssh://") :].rstrip("/"), environ)
        for prefix in ("tcp://", "http://", "https://"):
            if host.startswith(prefix):
                address = host[len(prefix) :].rstrip("/")
                tls = prefix == "https://" or _tls_wanted(environ)
                if ":" not in address.rsplit("]", 1)[-1]:
                    address += ":2376" if tls else ":2375"
                return cls("tls" if tls else "tcp", address, environ)
        if host.startswith("/"):
            return cls("unix", host, environ)
        raise ValueError(f"unsupported engine host {host!r} (use unix://, tcp://, https:// or ssh://)")

    def connect(self, timeout: float | None, *, hijack: bool = False) -> Connection:
        """A new connection. Plain requests on a unix socket use the C socket type directly; a hijacked
        one (attach, exec) is a full `socket.socket`, as its users expect."""
        if self.scheme == "unix" and not hijack:
            raw = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            try:
                raw.settimeout(timeout)
                raw.connect(self.address)
            except OSError:
                raw.close()
                raise
            return Connection(raw)
        import socket

        if self.scheme == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout)
                sock.connect(self.address)
            except OSError:
                sock.close()
                raise
            return Connection(sock)
        if self.scheme == "ssh":
            return Connection(_ssh_dial(self.address, timeout))
        host, _, port = self.address.rpartition(":")
        sock = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
        if self.scheme == "tls":
            try:
                sock = _tls_context(self.environ).wrap_socket(sock, server_hostname=host.strip("[]"))
            except OSError:
                sock.close()
                raise
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return Connection(sock)


def _tls_wanted(environ: Mapping[str, str]) -> bool:
    """As the docker CLI and docker-py: TLS when DOCKER_TLS_VERIFY is set (non-empty) or a cert path is."""
    return bool(environ.get("DOCKER_TLS_VERIFY") or environ.get("DOCKER_CERT_PATH"))


def _tls_context(environ: Mapping[str, str]):  # type: ignore[no-untyped-def]
    import ssl

    verify = bool(environ.get("DOCKER_TLS_VERIFY"))
    certs = environ.get("DOCKER_CERT_PATH") or os.path.join(os.path.expanduser("~"), ".docker")
    ca = os.path.join(certs, "ca.pem")
    if verify and os.path.exists(ca):
        # the engine's own CA is the one trust root, as with the docker CLI (no system CAs beside it)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(ca)
    else:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    cert, key = os.path.join(certs, "cert.pem"), os.path.join(certs, "key.pem")
    if os.path.exists(cert) and os.path.exists(key):
        ctx.load_cert_chain(cert, key)
    return ctx


def _ssh_dial(destination: str, timeout: float | None) -> socket.socket:
    """A socket whose other end is `ssh DEST docker system dial-stdio` (what the docker CLI runs)."""
    import socket
    import subprocess

    userhost, _, _path = destination.partition("/")
    argv = ["ssh", "-o", "ConnectTimeout=30"]
    if "@" in userhost:
        user, _, userhost = userhost.rpartition("@")
        argv += ["-l", user]
    if userhost.count(":") == 1:
        userhost, _, port = userhost.partition(":")
        argv += ["-p", port]
    ours, theirs = socket.socketpair()
    try:
        subprocess.Popen(
            [*argv, "--", userhost, "docker", "system", "dial-stdio"],
            stdin=theirs.fileno(),
            stdout=theirs.fileno(),
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        ours.close()
        raise
    finally:
        theirs.close()
    ours.settimeout(timeout)
    return ours


class Connection:
    """One HTTP/1.1 connection; `exchange` sends a request and reads the reply's head."""

    def __init__(self, sock: socket.socket | _socket.socket) -> None:
        self.sock = sock
        self._buf = bytearray()
        self.reusable = True

    def settimeout(self, timeout: float | None) -> None:
        self.sock.settimeout(timeout)

    def close(self) -> None:
        self.reusable = False
        with contextlib.suppress(OSError):
            self.sock.close()

    def exchange(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> Response:
        self.send(method, target, headers, body)
        return self.read_head(method)

    def send(self, method: str, target: str, headers: Mapping[str, str], body: bytes | None) -> None:
        lines = [f"{method} {target} HTTP/1.1"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body or b'')}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if body and len(body) < _READ:
            self.sock.sendall(head + body)
        else:
            self.sock.sendall(head)
            if body:
                self.sock.sendall(body)

    def read_head(self, method: str = "GET") -> Response:
        while (end := self._buf.find(b"\r\n\r\n")) < 0:
            if len(self._buf) > _MAX_HEAD:
                raise ProtocolError("response head too large")
            if not self._fill():
                raise ProtocolError("connection closed before a response")
        head = bytes(self._buf[:end]).decode("latin-1")
        del self._buf[: end + 4]
        status_line, *header_lines = head.split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise ProtocolError(f"not an HTTP response: {status_line[:80]!r}")
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("connection", "").lower() == "close" or parts[0] == "HTTP/1.0":
            self.reusable = False
        return Response(self, int(parts[1]), parts[2] if len(parts) > 2 else "", headers, method == "HEAD")

    def hijack(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> socket.socket:
        """Send an attach/exec-start request; after its response head the socket is the raw stream.
        The head is read without reading past it (peeked), so no stream byte is left in a buffer."""
        self.send(method, target, {**headers, "Connection": "Upgrade", "Upgrade": "tcp"}, body)
        self.reusable = False
        if not hasattr(self.sock, "cipher"):  # an SSLSocket cannot peek
            head = b""
            while b"\r\n\r\n" not in head:
                peeked = self.sock.recv(_MAX_HEAD, _socket.MSG_PEEK)
                if not peeked:
                    raise ProtocolError("connection closed before a response")
                end = peeked.find(b"\r\n\r\n")
                if end >= 0:
                    head = self.sock.recv(end + 4)
                    break
                if len(peeked) >= _MAX_HEAD:
                    raise ProtocolError("response head too large")
            self._buf += head
        else:  # TLS: no peeking; the head is read a byte at a time (attach over TLS is rare)
            while b"\r\n\r\n" not in self._buf:
                byte = self.sock.recv(1)
                if not byte:
                    raise ProtocolError("connection closed before a response")
                self._buf += byte
        reply = self.read_head(method)
        if reply.status >= 400:
            raise_for(reply)
        return self.sock  # type: ignore[return-value]  # hijacked connections are made as socket.socket

    def _fill(self) -> bool:
        data = self.sock.recv(_READ)
        if not data:
            return False
        self._buf += data
        return True

    def read_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            if not self._fill():
                raise ProtocolError("connection closed inside a response body")
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def read_line(self) -> bytes:
        while (end := self._buf.find(b"\r\n")) < 0:
            if not self._fill():
                raise ProtocolError("connection closed inside a chunked body")
        line = bytes(self._buf[:end])
        del self._buf[: end + 2]
        return line

    def read_available(self) -> bytes:
        """What is buffered, else one recv (b"" at the end of the connection)."""
        if not self._buf and not self._fill():
            return b""
        data = bytes(self._buf)
        self._buf.clear()
        return data


class APIError(Exception):
    """A reply with status >= 400; `status_code` and `explanation` as docker-py's APIError has them."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.explanation = message


def raise_for(reply: Response) -> None:
    import json

    data = reply.read()
    try:
        message = str(json.loads(data).get("message", ""))
    except (ValueError, AttributeError):
        message = data.decode(errors="replace").strip()
    raise APIError(reply.status, message or reply.reason or f"HTTP {reply.status}")


class Response:
    """A reply whose head has been read; the body is read once, whole (`read`) or as it comes."""

    def __init__(
        self, conn: Connection, status: int, reason: str, headers: dict[str, str], no_body: bool
    ) -> None:
        self.conn = conn
        self.status = status
        self.reason = reason
        self.headers = headers
        chunked = headers.get("transfer-encoding", "").lower() == "chunked"
        length = headers.get("content-length")
        self._chunked = chunked
        self._left: int | None = None if chunked or length is None else int(length)
        self._done = no_body or status in (204, 304) or 100 <= status < 200 or self._left == 0
        if not self._done and not chunked and length is None:
            conn.reusable = False  # the body ends with the connection

    def chunks(self) -> Iterator[bytes]:
        """The body in pieces as they arrive."""
        conn = self.conn
        while not self._done:
            if self._chunked:
                size = int(conn.read_line().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while conn.read_line():  # trailers, then the blank line
                        pass
                    self._done = True
                    return
                data = conn.read_exact(size)
                conn.read_line()
                yield data
            elif self._left is not None:
                data = conn.read_exact(min(self._left, _READ)) if self._left else b""
                self._left -= len(data)
                self._done = self._left == 0
                if data:
                    yield data
            else:
                data = conn.read_available()
                if not data:
                    self._done = True
                    return
                yield data

    def read(self) -> bytes:
        return b"".join(self.chunks())

    def frames(self) -> Iterator[tuple[int, bytes]]:
        """Docker's multiplexed stream: (1 stdout / 2 stderr, payload) per frame."""
        pending = b""
        for chunk in self.chunks():
            pending += chunk
            while len(pending) >= 8:
                size = struct.unpack(">I", pending[4:8])[0]
                if len(pending) < 8 + size:
                    break
                yield pending[0], pending[8 : 8 + size]
                pending = pending[8 + size :]

    @property
    def complete(self) -> bool:
        return self._done
