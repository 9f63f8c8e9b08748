"""Attach local standard input, output, and error streams to a service's running container.

Usage:
  attach [options] SERVICE

Options:
  --detach-keys KEYS   Override the key sequence for detaching from a container
  --index INDEX        Index of the container if the service has multiple replicas
  --no-stdin           Do not attach STDIN
  --sig-proxy BOOL     Proxy all received signals to the process: true or false [default: true]

Ends when the container exits (with its exit code) or on the detach keys (status 0, the container keeps
running). Standard input is attached only when the service keeps it open (`stdin_open: true`).
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from typing import Any

from composer.cli.options import GlobalOptions, UsageError

DETACH_GRACE = 2.0  # seconds a container may take to be reported exited after its streams closed
PROXIED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def run(argv: list[str], options: GlobalOptions) -> int:
    from composer.attach import pump, raw_terminal
    from composer.cli.commands._common import parse_index
    from composer.cli.parsing import parse_command
    from composer.client import engine_errors
    from composer.session import open_session

    args = parse_command(__doc__ or "", argv)
    sig_proxy = str(args["--sig-proxy"]).lower()
    if sig_proxy not in ("true", "false", "1", "0"):
        raise UsageError(f"invalid --sig-proxy value {args['--sig-proxy']!r}: use true or false")
    service = args["SERVICE"]
    t = open_session(options, streaming=True)
    container = t.container(service, parse_index(args["--index"]), check=False)
    with engine_errors():
        config = t.api.inspect_container(container.id).get("Config") or {}
        tty = bool(config.get("Tty"))
        send_stdin = bool(config.get("OpenStdin")) and not args["--no-stdin"]
        params: dict[str, Any] = {"stdin": int(send_stdin), "stdout": 1, "stderr": 1, "stream": 1}
        if args["--detach-keys"]:
            params["detachKeys"] = args["--detach-keys"]
        hijacked = t.api.attach_socket(container.id, params=params)
        terminal = tty and send_stdin and sys.stdin.isatty()
        session = raw_terminal(sys.stdin.fileno()) if terminal else contextlib.nullcontext()
        proxy = _proxy_signals(t.api, container.id) if sig_proxy in ("true", "1") and not tty else None
        with session, proxy or contextlib.nullcontext():
            pump(hijacked, tty=tty, send_stdin=send_stdin)
        return _exit_status(t.api, container.id)


def _exit_status(api: Any, cid: str) -> int:
    """The container's exit code once its streams closed; 0 when it still runs after a moment (the
    session was detached with the detach keys)."""
    import time

    deadline = time.monotonic() + DETACH_GRACE
    while True:
        state = api.inspect_container(cid).get("State") or {}
        if not state.get("Running"):
            return int(state.get("ExitCode") or 0)
        if time.monotonic() >= deadline:
            return 0
        time.sleep(0.05)


@contextlib.contextmanager
def _proxy_signals(api: Any, cid: str) -> Iterator[None]:
    """Signals we receive go to the container's process, as `docker attach --sig-proxy` does."""

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(Exception):  # the container may have just ended
            api.kill(cid, signal=signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, forward) for sig in PROXIED}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
