"""Keep-alive HTTP connections per (scheme, host), so a pull or push does not pay a TCP and TLS handshake
for every request. A connection is used by one request at a time; idle ones wait in the pool."""

from __future__ import annotations

import http.client
import ssl
import threading
from collections.abc import Callable

Key = tuple[str, str]  # (scheme, netloc)
# Errors a reused connection gives when the server closed it while it sat idle.
STALE_ERRORS: tuple[type[BaseException], ...] = (
    http.client.RemoteDisconnected,
    ConnectionResetError,
    BrokenPipeError,
)
_MAX_IDLE_PER_HOST = 8


class ConnectionPool:
    def __init__(self, ssl_context: Callable[[], ssl.SSLContext]) -> None:
        self._ssl_context = ssl_context
        self._idle: dict[Key, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def get(self, key: Key, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        """An idle connection to `key` (True: reused) or a new one (False)."""
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                conn = idle.pop()
                conn.timeout = timeout
                if conn.sock is not None:
                    conn.sock.settimeout(timeout)
                return conn, True
        return self.new(key, timeout), False

    def new(self, key: Key, timeout: float) -> http.client.HTTPConnection:
        scheme, netloc = key
        if scheme == "https":
            return http.client.HTTPSConnection(netloc, timeout=timeout, context=self._ssl_context())
        return http.client.HTTPConnection(netloc, timeout=timeout)

    def put(self, key: Key, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if self._closed or len(idle) >= _MAX_IDLE_PER_HOST:
                conn.close()
                return
            idle.append(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for conns in self._idle.values():
                for conn in conns:
                    conn.close()
            self._idle.clear()
