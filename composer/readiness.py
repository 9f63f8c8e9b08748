"""Readiness checks for services without a healthcheck: a TCP port that accepts, an HTTP endpoint that
answers, a log line that appears. Each waits up to a timeout and, when it gives up, names what it waited
for and the last thing it saw.

    wait_for_port("127.0.0.1", 32768, timeout=10)
    wait_for_http("http://127.0.0.1:32768/health", status=200, timeout=10)
    wait_for_log(lambda: project.logs("kv"), "listening", timeout=10)
"""

from __future__ import annotations

import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable

from composer.errors import ComposerError

POLL = 0.1  # seconds between attempts


class WaitTimeout(ComposerError):
    """A readiness check gave up; the message names what it waited for."""


def _deadline_loop(what: str, timeout: float, attempt: Callable[[], str | None]) -> None:
    """Call attempt() until it returns None (ready) or the timeout passes; it returns what it saw."""
    deadline = time.monotonic() + timeout
    last = "no attempt made"
    while True:
        seen = attempt()
        if seen is None:
            return
        last = seen
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout:g}s waiting for {what} (last: {last})")
        time.sleep(POLL)


def wait_for_port(host: str, port: int, *, timeout: float = 30.0) -> None:
    """Until a TCP connection to host:port succeeds."""

    def attempt() -> str | None:
        try:
            with socket.create_connection((host, port), timeout=min(2.0, timeout)):
                return None
        except OSError as exc:
            return exc.strerror or str(exc)

    _deadline_loop(f"{host}:{port} to accept TCP connections", timeout, attempt)


def wait_for_http(url: str, *, status: int | Iterable[int] = 200, timeout: float = 30.0) -> None:
    """Until GET url answers with `status` (one code or several)."""
    wanted = {status} if isinstance(status, int) else set(status)

    def attempt() -> str | None:
        try:
            with urllib.request.urlopen(url, timeout=min(5.0, timeout)) as resp:
                code = int(resp.status)
        except urllib.error.HTTPError as exc:
            code = exc.code
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            return str(getattr(reason, "strerror", None) or reason)
        return None if code in wanted else f"HTTP {code}"

    codes = " or ".join(str(c) for c in sorted(wanted))
    _deadline_loop(f"{url} to answer HTTP {codes}", timeout, attempt)


def wait_for_log(
    lines: Callable[[], Iterable[str]], pattern: str | re.Pattern[str], *, what: str, timeout: float = 30.0
) -> str:
    """Until one of lines() matches `pattern` (a regular expression); returns the matching line. `what`
    names the log in the timeout message ("the logs of service kv")."""
    regex = re.compile(pattern) if isinstance(pattern, str) else pattern
    found: list[str] = []

    def attempt() -> str | None:
        seen = 0
        for line in lines():
            seen += 1
            if regex.search(line):
                found.append(line)
                return None
        return f"{seen} lines, none matching"

    _deadline_loop(f"{regex.pattern!r} in {what}", timeout, attempt)
    return found[0]
