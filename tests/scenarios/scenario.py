"""Real-world-shaped scenarios: one small project per directory, run by a tool on an engine and checked.

Layout: `tests/scenarios/<name>/` holds `scenario.yaml`, `compose.yaml` and whatever files the project uses
(`.env`, env files, secret files, scripts). A directory without `scenario.yaml` is not a scenario. The
directory is copied to a temporary place for every run, so relative paths work and runs do not share state.

scenario.yaml (every key but `description` optional):

    description: one line saying what real project this is shaped like
    project: name            # default scn-<directory>; always passed as `-p`
    env: {NAME: value}       # added to every command's environment (a clean one: no DOCKER_*/COMPOSE_*)
    modes: [composer-engine, reference-dockerd]   # where it runs (default: both; see MODES)
    steps:                   # tool commands, in order, each after `-p <project>`
      - run: [up, -d, --wait]
        exit: 0              # the exit status it must have (default 0)
        env: {NAME: value}   # for this step only
        stdout: "exact text" # or stdout_contains / stderr_contains: [substrings]
    containers:              # after the steps: the project's service containers, exactly these
      web-1: {state: running, health: healthy}     # name without the "<project>-" prefix
      job-1: {state: exited, exit_code: 0}
    files:                   # inside containers (docker exec, as root)
      - {container: web-1, path: /run/secrets/token, content: "s3cr3t", mode: "444 0 0", writable: false}
      - {container: web-1, path: /etc/app.conf, contains: "port=80"}
    exec:                    # other commands inside containers
      - {container: web-1, cmd: [sh, -c, "nslookup db"], exit: 0, stdout_contains: ["Address"], user: "1000"}
    logs:                    # `<tool> logs --no-log-prefix SERVICE` must contain these substrings
      job: ["migrated"]

Then `<tool> down -v --remove-orphans -t 1`, and nothing of the project may be left (containers, one-off
ones included, networks, volumes: found by the com.docker.compose.project label).

Modes: `composer-engine` (this checkout's composer on a private embedded engine) and `reference-dockerd`
(the reference Compose v2 binary on a private dockerd, when both are installed) by default;
`composer-dockerd` and `reference-engine` exist too (SCENARIO_MODES=all runs every scenario in all four).
Every mode must meet the same expectations: that is the comparison between composer and the reference.
A check that fails is reported with the scenario, mode and what differed; the project is taken down anyway.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support.parity import docker, project_objects, tool

HERE = Path(__file__).resolve().parent
MODES = ("composer-engine", "reference-dockerd", "composer-dockerd", "reference-engine")
DEFAULT_MODES = ("composer-engine", "reference-dockerd")
STEP_TIMEOUT = 180


@dataclass(frozen=True)
class Scenario:
    name: str
    dir: Path
    description: str
    project: str
    env: dict[str, str] = field(default_factory=dict)
    modes: tuple[str, ...] = DEFAULT_MODES
    steps: tuple[dict[str, Any], ...] = ()
    containers: dict[str, dict[str, Any]] | None = None
    files: tuple[dict[str, Any], ...] = ()
    exec: tuple[dict[str, Any], ...] = ()
    logs: dict[str, list[str]] = field(default_factory=dict)


def load(directory: Path) -> Scenario:
    meta = yaml.safe_load((directory / "scenario.yaml").read_text()) or {}
    unknown = set(meta) - {
        "description", "project", "env", "modes", "steps", "containers", "files", "exec", "logs"
    }  # fmt: skip
    if unknown:
        raise ValueError(f"{directory.name}/scenario.yaml: unknown keys {sorted(unknown)}")
    modes = tuple(meta.get("modes") or DEFAULT_MODES)
    if bad := [m for m in modes if m not in MODES]:
        raise ValueError(f"{directory.name}/scenario.yaml: unknown modes {bad}")
    return Scenario(
        name=directory.name,
        dir=directory,
        description=str(meta["description"]),
        project=str(meta.get("project") or f"scn-{directory.name}"),
        env={k: str(v) for k, v in (meta.get("env") or {}).items()},
        modes=modes,
        steps=tuple(meta.get("steps") or ()),
        containers=meta.get("containers"),
        files=tuple(meta.get("files") or ()),
        exec=tuple(meta.get("exec") or ()),
        logs={k: list(v) for k, v in (meta.get("logs") or {}).items()},
    )


def all_scenarios() -> list[Scenario]:
    return [load(d) for d in sorted(HERE.iterdir()) if (d / "scenario.yaml").is_file()]


class Run:
    """One scenario run by one tool on one engine; `problems` lists every expectation not met."""

    def __init__(self, scenario: Scenario, which: str, host: str, workdir: Path) -> None:
        self.s = scenario
        self.which = which
        self.host = host
        self.work = workdir / scenario.name
        self.problems: list[str] = []

    def __call__(self) -> list[str]:
        shutil.copytree(self.s.dir, self.work, ignore=shutil.ignore_patterns("scenario.yaml"))
        try:
            for index, step in enumerate(self.s.steps):
                self._step(index, step)
            self._check_containers()
            self._check_files()
            self._check_exec()
            self._check_logs()
        finally:
            down = self._tool("down", "-v", "--remove-orphans", "-t", "1")
            if down.rc != 0:
                self.problems.append(f"down -v failed ({down.rc}): {down.err.strip()[-300:]}")
            left = project_objects(self.host, self.s.project)
            if any(left.values()):
                self.problems.append(f"left after down -v: {left}")
                self._sweep(left)
        return self.problems

    def _tool(self, *args: str, env: dict[str, str] | None = None) -> Any:
        return tool(
            self.which,
            self.host,
            self.work,
            "-p",
            self.s.project,
            *args,
            env={**self.s.env, **(env or {})},
            timeout=STEP_TIMEOUT,
        )

    def _step(self, index: int, step: dict[str, Any]) -> None:
        args = [str(a) for a in step["run"]]
        res = self._tool(*args, env={k: str(v) for k, v in (step.get("env") or {}).items()})
        what = f"step {index + 1} `{' '.join(args)}`"
        want_rc = int(step.get("exit", 0))
        if res.rc != want_rc:
            self.problems.append(f"{what}: exit {res.rc}, want {want_rc}; stderr: {res.err.strip()[-400:]}")
        if "stdout" in step and res.out != str(step["stdout"]):
            self.problems.append(f"{what}: stdout {res.out!r}, want {step['stdout']!r}")
        for part in step.get("stdout_contains") or ():
            if str(part) not in res.out:
                self.problems.append(f"{what}: stdout lacks {part!r}: {res.out[-400:]!r}")
        for part in step.get("stderr_contains") or ():
            if str(part) not in res.err:
                self.problems.append(f"{what}: stderr lacks {part!r}: {res.err[-400:]!r}")

    def _container(self, short: str) -> str:
        return f"{self.s.project}-{short}"

    def _check_containers(self) -> None:
        if self.s.containers is None:
            return
        label = f"label=com.docker.compose.project={self.s.project}"
        listed = docker(
            self.host, "ps", "-a", "--filter", label, "--filter", "label=com.docker.compose.oneoff=False",
            "--format", "{{.Names}}",
        )  # fmt: skip
        names = sorted(listed.out.split())
        prefix = f"{self.s.project}-"
        found = {n[len(prefix) :] if n.startswith(prefix) else n for n in names}
        if found != set(self.s.containers):
            self.problems.append(f"containers {sorted(found)}, want {sorted(self.s.containers)}")
        for short, want in self.s.containers.items():
            if short not in found:
                continue
            state = self._state(self._container(short) if self._container(short) in names else short)
            for key, value in (want or {}).items():
                if state.get(key) != value:
                    self.problems.append(f"container {short}: {key} {state.get(key)!r}, want {value!r}")

    def _state(self, name: str) -> dict[str, Any]:
        fmt = "{{.State.Status}}|{{.State.ExitCode}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}"
        deadline = time.monotonic() + 60
        while True:
            res = docker(self.host, "inspect", "--format", fmt, name)
            status, code, health = (res.out.strip().split("|") + ["", "", ""])[:3]
            # a health status still "starting" settles within the check's interval: give it a moment
            if health != "starting" or time.monotonic() > deadline:
                return {"state": status, "exit_code": int(code or 0), "health": health or "none"}
            time.sleep(0.5)

    def _check_files(self) -> None:
        for want in self.s.files:
            name, path = self._container(str(want["container"])), str(want["path"])
            got = docker(self.host, "exec", name, "cat", path)
            where = f"file {want['container']}:{path}"
            if got.rc != 0:
                self.problems.append(f"{where}: cannot read: {got.err.strip()}")
                continue
            if "content" in want and got.out != str(want["content"]):
                self.problems.append(f"{where}: content {got.out!r}, want {want['content']!r}")
            if "contains" in want and str(want["contains"]) not in got.out:
                self.problems.append(f"{where}: lacks {want['contains']!r}: {got.out[-300:]!r}")
            if "mode" in want:
                stat = docker(self.host, "exec", name, "stat", "-c", "%a %u %g", path).out.strip()
                if stat != str(want["mode"]):
                    self.problems.append(f"{where}: mode/owner {stat!r}, want {want['mode']!r}")
            if "writable" in want:
                # appending nothing (`: >>`) tests the permission without changing the file
                writable = docker(self.host, "exec", name, "sh", "-c", f": >> {path}").rc == 0
                if writable != bool(want["writable"]):
                    self.problems.append(f"{where}: writable {writable}, want {want['writable']}")

    def _check_exec(self) -> None:
        for want in self.s.exec:
            cmd = [str(c) for c in want["cmd"]]
            user = ("-u", str(want["user"])) if "user" in want else ()
            res = docker(self.host, "exec", *user, self._container(str(want["container"])), *cmd)
            where = f"exec {want['container']} {' '.join(cmd)}"
            if res.rc != int(want.get("exit", 0)):
                self.problems.append(f"{where}: exit {res.rc}, want {want.get('exit', 0)}: {res.err.strip()}")
            if "stdout" in want and res.out != str(want["stdout"]):
                self.problems.append(f"{where}: stdout {res.out!r}, want {want['stdout']!r}")
            for part in want.get("stdout_contains") or ():
                if str(part) not in res.out:
                    self.problems.append(f"{where}: stdout lacks {part!r}: {res.out[-300:]!r}")

    def _check_logs(self) -> None:
        for service, parts in self.s.logs.items():
            res = self._tool("logs", "--no-log-prefix", service)
            if res.rc != 0:
                self.problems.append(f"logs {service}: exit {res.rc}: {res.err.strip()}")
            for part in parts:
                if str(part) not in res.out:
                    self.problems.append(f"logs {service}: lack {part!r}: {res.out[-300:]!r}")

    def _sweep(self, left: dict[str, list[str]]) -> None:
        """Remove what the tool left, so one failure does not spill into the next scenario."""
        if left["containers"]:
            docker(self.host, "rm", "-f", "-v", *left["containers"])
        for net in left["networks"]:
            docker(self.host, "network", "rm", net)
        if left["volumes"]:
            docker(self.host, "volume", "rm", "-f", *left["volumes"])
