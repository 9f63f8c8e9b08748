"""Attached `up` as a real process: Ctrl-C (a real SIGINT) stops exactly what this `up` started, dependents
first, each with its service's stop signal and grace period; a second Ctrl-C kills; exit status 130.
On a terminal (tmux) the stop shows Compose's message and a countdown. The log follower is composer.logs'
one, so containers recreated or scaled up by another `up -d` meanwhile are followed too."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest

from composer import labels as L
from tests.integration.compose.conftest import Runner
from tests.support.engine import EngineProcess
from tests.support.listeners import wait_for_listener

pytestmark = pytest.mark.root

GRACEFUL = "Gracefully stopping... (press Ctrl+C again to force)"


@dataclass
class Attached:
    """A running `composer up` with its stdout and stderr collected line by line in threads."""

    proc: subprocess.Popen[str]
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    readers: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        for stream, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            reader = threading.Thread(target=self._collect, args=(stream, sink), daemon=True)
            reader.start()
            self.readers.append(reader)

    @staticmethod
    def _collect(stream: object, sink: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            sink.append(line)

    def wait_for(self, text: str, timeout: float = 60, where: str = "out") -> None:
        sink = self.out if where == "out" else self.err
        deadline = time.monotonic() + timeout
        while not any(text in line for line in list(sink)):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(
                    f"no {text!r} in {where}:\n{''.join(self.out)}\n---\n{''.join(self.err)}"
                )
            time.sleep(0.05)

    def finish(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout)
        for reader in self.readers:  # they read the last lines, up to EOF
            reader.join(30)
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.finish()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def start_up(compose_engine: EngineProcess, project_dir: Path) -> Iterator[object]:
    started: list[Attached] = []

    def start(*args: str) -> Attached:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "COMPOSE_"))}
        env["DOCKER_HOST"] = compose_engine.docker_host
        proc = subprocess.Popen(
            [sys.executable, "-m", "composer.cli.main", "--ansi", "never", *args],
            cwd=project_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(Attached(proc))
        return started[-1]

    yield start
    for attached in started:
        attached.close()


def _containers(api: docker.APIClient, project: str) -> dict[str, dict]:  # type: ignore[type-arg]
    found = api.containers(all=True, filters={"label": [f"{L.PROJECT}={project}"]})
    return {c["Names"][0].lstrip("/"): c for c in found}


STOPS = """
name: stops
services:
  before:
    image: busybox:latest
    command: sleep 1000
    init: true
  db:
    image: busybox:latest
    command: sh -c 'trap "echo db got USR1; exit 3" USR1; echo db up; sleep 1000 & wait'
    stop_signal: SIGUSR1
  app:
    image: busybox:latest
    command: sh -c 'trap "" TERM; echo app up; sleep 1000 & wait'
    stop_grace_period: 2s
    depends_on: [db]
"""


def test_ctrl_c_stops_only_what_this_up_started_dependents_first_with_their_signal_and_grace(
    composer: Runner, start_up: object, api: docker.APIClient, project_dir: Path
) -> None:
    (project_dir / "compose.yaml").write_text(STOPS)
    try:
        assert composer("up", "-d", "before").code == 0  # running before, left unchanged by the next up
        up = start_up("up")  # type: ignore[operator]
        up.wait_for("db up")
        up.wait_for("app up")
        up.proc.send_signal(signal.SIGINT)
        assert up.finish() == 130
        err = "".join(up.err)
        assert GRACEFUL in err
        # app ignores SIGTERM: the engine kills it after its 2 s grace; a countdown says so meanwhile
        assert " Container stops-app-1  Stopping (killed in 1s)" in err, err
        assert err.index(" Container stops-app-1  Stopped") < err.index(" Container stops-db-1  Stopping"), (
            err
        )
        assert "stops-before-1" not in err.split(GRACEFUL)[1]
        found = _containers(api, "stops")
        assert found["stops-before-1"]["State"] == "running"
        assert found["stops-app-1"]["State"] == "exited"
        assert found["stops-db-1"]["State"] == "exited"
        assert api.inspect_container("stops-db-1")["State"]["ExitCode"] == 3  # its trap ran: SIGUSR1
        assert api.inspect_container("stops-app-1")["State"]["ExitCode"] == 137  # killed after the grace
    finally:
        composer("down", "-t", "0")


STARTING = """
name: starting
services:
  db:
    image: busybox:latest
    command: sh -c 'echo db up; sleep 1000 & wait'
    init: true
    healthcheck:
      test: ["CMD", "false"]
      interval: 1s
      retries: 1000
  app:
    image: busybox:latest
    command: sleep 1000
    depends_on:
      db:
        condition: service_healthy
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_while_up_is_still_starting_stops_what_it_started(
    composer: Runner, start_up: object, api: docker.APIClient, project_dir: Path, sig: signal.Signals
) -> None:
    # app waits for a db that never gets healthy: `up` is still bringing the project up, not attached yet
    (project_dir / "compose.yaml").write_text(STARTING)
    try:
        up = start_up("up")  # type: ignore[operator]
        up.wait_for(" Container starting-db-1  Waiting", where="err")
        up.proc.send_signal(sig)
        assert up.finish() == 130
        err = "".join(up.err)
        assert GRACEFUL in err and "interrupted" not in err, err
        found = _containers(api, "starting")
        assert found["starting-db-1"]["State"] == "exited", err
        assert "starting-app-1" not in found or found["starting-app-1"]["State"] != "running"
    finally:
        composer("down", "-t", "0")


def test_a_second_ctrl_c_kills(
    composer: Runner, start_up: object, api: docker.APIClient, project_dir: Path
) -> None:
    (project_dir / "compose.yaml").write_text(
        "name: twice\nservices:\n"
        "  slow:\n    image: busybox:latest\n    stop_grace_period: 60s\n"
        "    command: sh -c 'trap \"\" TERM; echo slow up; sleep 1000 & wait'\n"
    )
    try:
        up = start_up("up")  # type: ignore[operator]
        up.wait_for("slow up")
        started = time.monotonic()
        up.proc.send_signal(signal.SIGINT)
        up.wait_for(" Container twice-slow-1  Stopping", where="err")
        up.proc.send_signal(signal.SIGINT)
        assert up.finish() == 130
        assert time.monotonic() - started < 45, "the second Ctrl-C did not cut the 60 s grace short"
        assert " Container twice-slow-1  Killed" in "".join(up.err)
        state = api.inspect_container("twice-slow-1")["State"]
        assert (state["Status"], state["ExitCode"]) == ("exited", 137)
    finally:
        composer("down", "-t", "0")


def test_attached_up_follows_containers_recreated_and_scaled_by_another_up(
    composer: Runner, start_up: object, api: docker.APIClient, project_dir: Path
) -> None:
    (project_dir / "compose.yaml").write_text(
        "name: follow\nservices:\n"
        "  web:\n    image: busybox:latest\n    init: true\n"
        "    command: sh -c 'echo web $$HOSTNAME says hi; exec sleep 1000'\n"
    )
    try:
        before = api.info()["NEventsListener"]
        up = start_up("up")  # type: ignore[operator]
        up.wait_for("says hi")
        wait_for_listener(api.info, before)  # it watches events: it sees what the other `up` makes
        assert composer("up", "-d", "--scale", "web=2").code == 0
        up.wait_for("web-2  | web ")
        assert composer("up", "-d", "--scale", "web=2", "--force-recreate", "-t", "0").code == 0
        deadline = time.monotonic() + 60
        while sum("says hi" in line for line in up.out) < 4:  # web-1 and web-2, each once more
            assert time.monotonic() < deadline, "".join(up.out)
            time.sleep(0.05)
        assert up.proc.poll() is None  # still attached across the recreate
        up.proc.send_signal(signal.SIGINT)
        assert up.finish() == 130
    finally:
        composer("down", "-t", "0")


def test_ctrl_c_on_a_terminal_shows_the_message_and_a_countdown(
    composer: Runner, compose_engine: EngineProcess, api: docker.APIClient, project_dir: Path
) -> None:
    from tests.e2e.helpers import Tmux, wait_until

    (project_dir / "compose.yaml").write_text(
        "name: tty\nservices:\n"
        "  slow:\n    image: busybox:latest\n    stop_grace_period: 8s\n"
        "    command: sh -c 'trap \"\" TERM; echo slow up; sleep 1000 & wait'\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "COMPOSE_"))}
    env["DOCKER_HOST"] = compose_engine.docker_host
    term = Tmux(env, "attached-up")
    try:
        term.send_line(f"cd {project_dir} && {sys.executable} -m composer.cli.main up; echo rc=$?")
        term.wait_for("slow-1  | slow up")
        term.send_keys("C-c")
        term.wait_for(GRACEFUL)
        term.wait_for("[+] Stopping 0/1")
        # counting down: a value below the 8 s it began with (each shows for a second; a loaded machine's
        # screen reads may skip some, so any of them will do)
        def counting_down() -> str:
            screen = term.screen()
            return screen if re.search(r"Container tty-slow-1  Stopping \(killed in [1-6]s\)", screen) else ""

        screen = wait_until(counting_down, 60, what="a countdown")
        assert "\x1b" not in screen  # drawn, not printed as escape codes
        screen = term.wait_for("rc=130", timeout=60)
        assert "[+] Stopping 1/1" in screen
        assert "✔ Container tty-slow-1  Stopped" in screen
        assert api.inspect_container("tty-slow-1")["State"]["ExitCode"] == 137
    finally:
        term.close()
        composer("down", "-t", "0")


def test_logs_follow_picks_up_containers_of_a_scale_up(
    composer: Runner, start_up: object, api: docker.APIClient, project_dir: Path
) -> None:
    (project_dir / "compose.yaml").write_text(
        "name: scalelogs\nservices:\n"
        "  web:\n    image: busybox:latest\n    init: true\n"
        "    command: sh -c 'echo hello from $$HOSTNAME; exec sleep 1000'\n"
    )
    try:
        assert composer("up", "-d").code == 0
        before = api.info()["NEventsListener"]
        logs = start_up("logs", "-f")  # type: ignore[operator]
        logs.wait_for("web-1  | hello from")
        wait_for_listener(api.info, before)  # the follower watches events: it sees the new containers
        assert composer("up", "-d", "--scale", "web=3").code == 0
        logs.wait_for("web-2  | hello from")
        logs.wait_for("web-3  | hello from")
        assert composer("up", "-d", "--scale", "web=1", "-t", "0").code == 0
        time.sleep(1)
        assert logs.proc.poll() is None  # web-1 still runs: still following
        logs.proc.send_signal(signal.SIGINT)
        assert logs.finish() == 130
    finally:
        composer("down", "-t", "0")
