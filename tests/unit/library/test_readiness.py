"""The readiness helpers against real loopback servers: they return once ready, and a timeout names what
was waited for and what was last seen."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from composer.readiness import WaitTimeout, wait_for_http, wait_for_log, wait_for_port


@pytest.fixture
def http_server() -> Iterator[int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/ok" else 503)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_port_ready_and_timeout(http_server: int) -> None:
    wait_for_port("127.0.0.1", http_server, timeout=2)
    port = _closed_port()
    with pytest.raises(WaitTimeout) as err:
        wait_for_port("127.0.0.1", port, timeout=0.3)
    assert str(err.value) == (
        f"timed out after 0.3s waiting for 127.0.0.1:{port} to accept TCP connections "
        "(last: Connection refused)"
    )


def test_http_status_ready_and_timeout(http_server: int) -> None:
    wait_for_http(f"http://127.0.0.1:{http_server}/ok", timeout=2)
    wait_for_http(f"http://127.0.0.1:{http_server}/down", status=(503,), timeout=2)
    with pytest.raises(WaitTimeout) as err:
        wait_for_http(f"http://127.0.0.1:{http_server}/down", timeout=0.3)
    assert str(err.value) == (
        f"timed out after 0.3s waiting for http://127.0.0.1:{http_server}/down to answer HTTP 200 "
        "(last: HTTP 503)"
    )


def test_log_line_found_later_and_timeout() -> None:
    seen: list[str] = []

    def lines() -> list[str]:
        seen.append("starting")
        return [*seen, "ready to serve"] if len(seen) > 2 else list(seen)

    assert wait_for_log(lines, r"ready to \w+", what="the logs of service web", timeout=5) == "ready to serve"
    with pytest.raises(WaitTimeout) as err:
        wait_for_log(lambda: ["a", "b"], "never", what="the logs of service kv", timeout=0.2)
    assert str(err.value) == (
        "timed out after 0.2s waiting for 'never' in the logs of service kv (last: 2 lines, none matching)"
    )
