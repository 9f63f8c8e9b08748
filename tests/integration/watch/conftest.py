"""A private engine per module, and `composer watch` / `composer up --watch` running as real subprocesses
against it in a temp project dir; their stdout is read line by line so tests can wait for a message."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import docker
import pytest

from tests.support.engine import EngineProcess, running_engine


@pytest.fixture(scope="module")
def watch_engine() -> Iterator[EngineProcess]:
    with running_engine() as eng:
        yield eng


@pytest.fixture
def api(watch_engine: EngineProcess) -> Iterator[docker.APIClient]:
    client = docker.APIClient(base_url=watch_engine.docker_host, version="1.41")
    yield client
    client.close()
    watch_engine.remove_all_containers()


def environ(engine: EngineProcess) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    env["DOCKER_HOST"] = engine.docker_host
    return env


class Watching:
    """A running `composer` whose output lines are queued; `expect` waits for a line containing a text."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str], prefix: Sequence[str] = ()) -> None:
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "composer.cli.main", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        try:
            for line in self.proc.stdout:
                self.lines.put(line.rstrip("\n"))
        except ValueError:  # closed by stop()
            pass

    def expect(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(
            f"no line with {text!r} within {timeout}s; output so far:\n" + "\n".join(self.seen)
        )

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode


Start = Callable[..., Watching]


@pytest.fixture
def start(watch_engine: EngineProcess, tmp_path: Path) -> Iterator[Start]:
    started: list[Watching] = []

    def run(*args: str, prefix: Sequence[str] = ()) -> Watching:
        w = Watching(list(args), tmp_path, environ(watch_engine), prefix)
        started.append(w)
        return w

    yield run
    for w in started:
        w.stop()


def until(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def read(api: docker.APIClient, container: str, path: str) -> str | None:
    """The file's content inside the container (via exec cat), None when it does not exist."""
    exec_id = api.exec_create(container, ["cat", path])
    out = api.exec_start(exec_id)
    if api.exec_inspect(exec_id)["ExitCode"]:
        return None
    return out.decode()


def sees(api: docker.APIClient, container: str, files: dict[str, str | None]) -> Callable[[], bool]:
    """A check for `until`: every file has that content in the container (None: does not exist)."""
    return lambda: all(read(api, container, path) == content for path, content in files.items())
