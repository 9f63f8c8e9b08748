"""Drivers for the real clients the e2e suites use: the docker CLI (plain and under tmux for `-it`)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

DOCKER = "/usr/local/bin/docker"


def client_env(socket: Path, config_dir: Path) -> dict[str, str]:
    """The environment a docker client needs to talk to our private engine and nothing else."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env.update({
        "DOCKER_HOST": f"unix://{socket}",
        "DOCKER_CONFIG": str(config_dir),  # no user config, no credential helpers, no contexts
        "DOCKER_BUILDKIT": "0",
        "DOCKER_CLI_HINTS": "false",
    })
    return env


@dataclass(frozen=True)
class Result:
    args: tuple[str, ...]
    rc: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"docker {shlex.join(self.args)} -> rc={self.rc}\nstdout: {self.out!r}\nstderr: {self.err!r}"


class CommandFailed(AssertionError):
    pass


@dataclass(frozen=True)
class DockerCLI:
    """Runs the real docker CLI against the private engine; `check` asserts the exit code."""

    env: Mapping[str, str]

    def __call__(self, *args: str, input: str | bytes | None = None, check: bool = True,
                 timeout: float = 60, rc: int | None = None) -> Result:
        binary = isinstance(input, bytes)
        proc = subprocess.run([DOCKER, *args], input=input, capture_output=True, env=dict(self.env),
                              timeout=timeout, text=not binary)
        out = proc.stdout.decode(errors="replace") if binary else proc.stdout
        err = proc.stderr.decode(errors="replace") if binary else proc.stderr
        res = Result(tuple(args), proc.returncode, out, err)
        if rc is not None and res.rc != rc:
            raise CommandFailed(f"expected rc={rc}: {res}")
        if check and rc is None and res.rc != 0:
            raise CommandFailed(str(res))
        return res

    def shell(self, script: str, timeout: float = 60) -> Result:
        """A shell pipeline with `docker` on PATH's front (for `save | load`)."""
        proc = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, env=dict(self.env),
                              timeout=timeout)
        return Result(("sh", "-c", script), proc.returncode, proc.stdout, proc.stderr)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([DOCKER, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(self.env))


def wait_until(predicate, timeout: float = 30, interval: float = 0.05, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Tmux:
    """A private tmux server with one pane running a shell, for commands that need a real terminal."""

    def __init__(self, env: Mapping[str, str], name: str) -> None:
        self.env = dict(env)
        self._dir = tempfile.mkdtemp(prefix=f"e2e-tmux-{name}-")
        self.server = os.path.join(self._dir, "sock")  # a private server socket, removed with its dir
        # the prompt comes from the environment: typing PS1=... would race the shell's first prompt
        self._tmux("new-session", "-d", "-s", "main", "-x", "160", "-y", "48", "env 'PS1=host$ ' /bin/sh")
        try:
            self.prompt_ready()
        except BaseException:
            self.close()
            raise

    def _tmux(self, *args: str) -> str:
        proc = subprocess.run(["tmux", "-S", self.server, *args], capture_output=True, text=True,
                              env=self.env, timeout=30)
        if proc.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def prompt_ready(self) -> None:
        """The shell's prompt, then a clean screen: later waits count prompts from zero."""
        self.wait_for("host$")
        self.clear()
        self.wait_for("host$")

    def send_line(self, line: str) -> None:
        self._tmux("send-keys", "-t", "main", "-l", line)
        self._tmux("send-keys", "-t", "main", "Enter")

    def send_keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "main", *keys)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "main", "-S", "-200")

    def clear(self) -> None:
        self._tmux("send-keys", "-t", "main", "-R")  # reset the terminal: empties the visible screen
        self._tmux("clear-history", "-t", "main")
        self._tmux("send-keys", "-t", "main", "Enter")  # and have the shell draw one fresh prompt

    def wait_for(self, text: str, timeout: float = 30, count: int = 1) -> str:
        screen = ""

        def seen() -> bool:
            nonlocal screen
            screen = self.screen()
            return screen.count(text) >= count

        try:
            wait_until(seen, timeout, 0.05, f"{text!r} on the terminal")
        except AssertionError:
            raise AssertionError(f"timed out waiting for {text!r}; screen:\n{screen}") from None
        return screen

    def close(self) -> None:
        subprocess.run(["tmux", "-S", self.server, "kill-server"], capture_output=True, timeout=10)
        shutil.rmtree(self._dir, ignore_errors=True)


def docker_command(args: Sequence[str]) -> str:
    return shlex.join([DOCKER, *args])
