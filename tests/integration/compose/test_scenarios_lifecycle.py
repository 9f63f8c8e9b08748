"""Real-world-shaped projects for attached-up abort/exit-code flows, lifecycle hooks, scale, volumes_from
and the `volumes` command, played by composer on our embedded engine and, where dockerd is installed, by
the reference Compose v2 binary on a private dockerd. Each scenario returns an Outcome (exit codes,
container states, files written inside containers, log lines, what is left after `down -v`), and both
sides must produce the same expected Outcome.

The helpers are this file's own (the generic scenario runner lives elsewhere)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest

from tests.support import dockerd
from tests.support.engine import running_engine
from tests.support.reference import reference_binary

pytestmark = pytest.mark.root

# address ranges of this file's dockerd, used nowhere else (swarm tests use 10.231, bench 10.213/10.214)
BIP, POOL = "10.247.0.1/24", "base=10.248.0.0/16,size=24"
REFERENCE = reference_binary()


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@dataclass
class Side:
    """One tool on one engine: `composer` on ours, or the reference binary on dockerd."""

    name: str
    argv: list[str]
    host: str
    api: docker.APIClient

    def run(self, workdir: Path, *args: str, timeout: float = 120) -> Result:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "COMPOSE_"))}
        env.update({"DOCKER_HOST": self.host, "DOCKER_CONFIG": str(workdir / ".docker")})
        root = str(Path(__file__).resolve().parents[3])
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        proc = subprocess.run(
            [*self.argv, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)


@dataclass
class Outcome:
    codes: list[tuple[str, int]] = field(default_factory=list)
    facts: dict[str, object] = field(default_factory=dict)


class Play:
    """A scenario being played on one side: every command's exit status is recorded."""

    def __init__(self, side: Side, workdir: Path, project: str) -> None:
        self.side, self.workdir, self.project = side, workdir, project
        self.outcome = Outcome()

    def __call__(self, *args: str, timeout: float = 120) -> Result:
        result = self.side.run(self.workdir, *args, timeout=timeout)
        self.outcome.codes.append((" ".join(args), result.code))
        return result

    def fact(self, key: str, value: object) -> None:
        self.outcome.facts[key] = value

    def states(self) -> list[tuple[str, str, int]]:
        """(service, state, exit code) of the project's containers."""
        found = self.side.api.containers(
            all=True, filters={"label": [f"com.docker.compose.project={self.project}"]}
        )
        rows = []
        for c in found:
            state = self.side.api.inspect_container(c["Id"])["State"]
            rows.append(
                (c["Labels"]["com.docker.compose.service"], c["State"], int(state.get("ExitCode") or 0))
            )
        return sorted(rows)

    def left(self) -> list[str]:
        """The project's containers, networks and volumes that still exist."""
        label = {"label": [f"com.docker.compose.project={self.project}"]}
        api = self.side.api
        return sorted(
            [f"container {c['Names'][0]}" for c in api.containers(all=True, filters=label)]
            + [f"network {n['Name']}" for n in api.networks(filters=label)]
            + [f"volume {v['Name']}" for v in api.volumes(filters=label).get("Volumes") or []]
        )

    def remove_containers(self) -> None:
        label = {"label": [f"com.docker.compose.project={self.project}"]}
        for c in self.side.api.containers(all=True, filters=label):
            self.side.api.remove_container(c["Id"], force=True, v=True)

    def cleanup(self) -> None:
        self.remove_containers()
        self.side.run(self.workdir, "down", "-v", "-t", "0")


# ---- the two sides ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine_side() -> Iterator[Side]:
    with running_engine() as eng:
        api = docker.APIClient(base_url=eng.docker_host, version="auto", timeout=120)
        yield Side(
            "composer on our engine", [sys.executable, "-m", "composer.cli.main"], eng.docker_host, api
        )
        api.close()


@pytest.fixture(scope="module")
def dockerd_side() -> Iterator[Side]:
    if shutil.which("dockerd") is None or REFERENCE is None:
        pytest.skip("dockerd or the reference binary is not installed")
    before = dockerd.links()
    with dockerd.private_dockerd(bip=BIP, pool=POOL) as (env, _tmp, _daemon):
        api = docker.APIClient(base_url=env["DOCKER_HOST"], version="auto", timeout=120)
        yield Side("the reference on dockerd", [REFERENCE], env["DOCKER_HOST"], api)
        api.close()
    assert dockerd.peer_links(before, ("10.247.", "10.248.")) == set()


@pytest.fixture(params=["engine", "dockerd"])
def side(request: pytest.FixtureRequest) -> Side:
    return request.getfixturevalue(f"{request.param}_side")  # type: ignore[no-any-return]


def _project(tmp_path: Path, text: str) -> Path:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(text))
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o777)  # written by hooks and services running as other users
    return tmp_path


def _exited_lines(text: str) -> list[str]:
    plain = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)  # the reference erases the line before these
    return sorted(set(re.findall(r"([\w-]+ exited with code \d+)", plain)))


def _settled(path: Path, lines: int, timeout: float = 30.0) -> str:
    """The file once it has `lines` lines: the reference's detached hooks may still be finishing when
    `up -d` returns (it polls the exec, which dockerd can report not running before it started)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text() if path.exists() else ""
        if text.count("\n") >= lines or time.monotonic() > deadline:
            return text
        time.sleep(0.1)


# ---- scenarios -----------------------------------------------------------------------------------

# `ok` and `bad` begin once `long` has its trap (a file in the shared ./out): on a slow machine a stop
# that came before the trap would find the shell ignoring TERM, and the outcome would depend on speed.
THREE_JOBS = """\
name: {name}
services:
  long:
    image: busybox:latest
    command:
      - sh
      - -c
      - >-
        trap "echo long got term; exit 0" TERM; touch /sync/long-up; echo long up;
        while true; do sleep 0.1; done
    volumes: [./out:/sync]
  ok:
    image: busybox:latest
    command: sh -c 'until [ -e /sync/long-up ]; do sleep 0.05; done; echo ok done; sleep 0.5'
    volumes: [./out:/sync]
  bad:
    image: busybox:latest
    command:
      - sh
      - -c
      - >-
        until [ -e /sync/long-up ]; do sleep 0.05; done;
        echo bad starting; sleep 2; echo bad failing; exit 3
    volumes: [./out:/sync]
"""


def abort_on_failure(play: Play) -> None:
    """A failing job stops the rest; every container's last lines and exit line are still shown."""
    up = play("up", "--abort-on-container-failure", "-t", "5")
    play.fact("exited", _exited_lines(up.out))
    play.fact("long got term", bool(re.search(r"long-1\s+\| long got term", up.out)))
    play.fact("bad failing", "bad failing" in up.out)
    play.fact("states", play.states())
    play.fact("logs bad", "bad failing" in play("logs", "bad").out)


def exit_code_from(play: Play) -> None:
    up = play("up", "--exit-code-from", "bad", "-t", "5")
    play.fact("exited", _exited_lines(up.out))
    play.fact("states", play.states())


def abort_on_exit(play: Play) -> None:
    """The first exit (ok, status 0) aborts; the code is that container's; bad still ends its way."""
    up = play("up", "--abort-on-container-exit", "-t", "5")
    play.fact("exited", _exited_lines(up.out))
    play.fact("states", play.states())


ALL_GOOD = """\
name: {name}
services:
  first:
    image: busybox:latest
    command: sh -c 'echo first; sleep 0.3'
  second:
    image: busybox:latest
    command: sh -c 'echo second; sleep 0.8'
"""


def failure_flag_without_failure(play: Play) -> None:
    up = play("up", "--abort-on-container-failure")
    play.fact("exited", _exited_lines(up.out))
    play.fact("aborting", "Aborting" in up.err)
    play.fact("states", play.states())
    play("up", "-d", "--abort-on-container-failure")  # refused: -d cannot abort
    play("up", "--abort-on-container-failure", "--abort-on-container-exit")  # refused: exclusive


HOOKS = """\
name: {name}
services:
  app:
    image: busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 0.1; done'
    user: "1000"
    volumes: [./out:/out]
    post_start:
      - command: sh -c 'echo post $$(id -u) $$(pwd) $$FOO > /out/post'
        user: root
        working_dir: /tmp
        environment: {{FOO: bar}}
      - command: ["sh", "-c", "echo second >> /out/post"]
        user: root
{privileged_hook}
    pre_stop:
      - command: sh -c 'echo pre $$(id -u) $$(cat /proc/1/cmdline | head -c 2) > /out/pre'
"""


# A privileged exec fails on this machine's dockerd (root lacks some capabilities here: "unable to apply
# caps"), and the reference then does not notice; so the privileged hook is played on our engine only.
PRIVILEGED_HOOK = """\
      - command: sh -c 'grep CapEff /proc/self/status > /out/caps-privileged'
        privileged: true
        user: root
      - command: sh -c 'grep CapEff /proc/self/status > /out/caps-plain'
        user: root"""


def hooks_run_in_the_container(play: Play) -> None:
    play("up", "-d")
    play.fact("post", _settled(play.workdir / "out" / "post", 2))
    if (play.workdir / "out" / "caps-plain").exists():
        privileged = (play.workdir / "out" / "caps-privileged").read_text().split()[-1]
        plain = (play.workdir / "out" / "caps-plain").read_text().split()[-1]
        assert int(privileged, 16) > int(plain, 16), (privileged, plain)  # more capabilities
    play.fact("pre before stop", (play.workdir / "out" / "pre").exists())
    play("stop")
    play.fact("pre", (play.workdir / "out" / "pre").read_text())
    play.fact("states", play.states())


FAILING_HOOKS = """\
name: {name}
services:
  app:
    image: busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 0.1; done'
    post_start:
      - command: sh -c 'echo post ran > /proc/1/fd/1; exit 3'
    pre_stop:
      - command: sh -c 'exit 4'
  other:
    image: busybox:latest
    command: sleep 100
    depends_on: [app]
"""


def failing_hooks(play: Play) -> None:
    """A failed post_start fails `up` and leaves dependents unstarted; a failed pre_stop fails `down`
    and leaves the container running."""
    up = play("up", "-d")
    play.fact("up says", "app hook exited with status 3" in up.err)
    play.fact("running", sorted(s for s, state, _ in play.states() if state == "running"))
    down = play("down")
    play.fact("down says", "app hook exited with status 4" in down.err)
    play.fact("running after down", sorted(s for s, state, _ in play.states() if state == "running"))
    play.remove_containers()  # the failing pre_stop would fail every later `down` as well


SCALE = """\
name: {name}
services:
  web:
    image: busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 0.1; done'
    depends_on: [cache]
  cache:
    image: busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 0.1; done'
"""


def scale_up_and_down(play: Play) -> None:
    play("up", "-d")
    play("scale", "web=3")
    play.fact("after scale 3", play.states())
    play("scale", "web=1", "cache=2")
    play.fact("after scale 1", play.states())
    play("scale", "web")  # no count: refused
    play("scale", "nosuch=2")  # no such service: refused
    play("scale", "web=x")  # not a number: refused


VOLUMES_FROM = """\
name: {name}
services:
  db:
    image: busybox:latest
    command: sh -c 'echo hello > /data/f; trap "exit 0" TERM; while true; do sleep 0.1; done'
    volumes: [data:/data, ./out:/host]
  app:
    image: busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 0.1; done'
    volumes_from: [db]
  byname:
    image: busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 0.1; done'
    volumes_from: ["container:{name}-db-1"]
    depends_on: [db]
  ro:
    image: busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 0.1; done'
    volumes_from: ["db:ro"]
volumes:
  data:
"""


def volumes_from(play: Play) -> None:
    play("up", "-d", "--wait")
    play.fact("app reads", play("exec", "-T", "app", "cat", "/data/f").out)
    play("exec", "-T", "app", "sh", "-c", "echo from-app > /host/app")
    play.fact("host file", (play.workdir / "out" / "app").read_text())
    play.fact("by name reads", play("exec", "-T", "byname", "cat", "/data/f").out)
    play.fact("volumes", play("volumes", "-q").out.split())
    play.fact("volumes of app", play("volumes", "--format", "{{.Name}}", "app").out.split())
    # `db:ro` (Compose 2.40 drops the mode, dockerd then mounts read-write): only ours is checked
    ro = play.side.run(play.workdir, "exec", "-T", "ro", "touch", "/data/x")
    if play.side.argv[0] != REFERENCE:
        play.fact("ro refuses writes", ro.code != 0 and "Read-only" in ro.out + ro.err)


CI_PIPELINE = """\
name: {name}
services:
  db:
    image: busybox:latest
    command: sh -c 'trap "exit 0" TERM; touch /sync/db-up; echo db ready; while true; do sleep 0.1; done'
    volumes: [./out:/sync]
  migrate:
    image: busybox:latest
    command: sh -c 'until [ -e /sync/db-up ]; do sleep 0.05; done; echo migrating; sleep 0.3; echo migrated'
    volumes: [./out:/sync]
    depends_on: [db]
  tests:
    image: busybox:latest
    command: sh -c 'echo 3 passed 1 failed; exit 1'
    depends_on:
      migrate: {{condition: service_completed_successfully}}
"""


def ci_pipeline(play: Play) -> None:
    """A CI job: the database stays up, migrations run to completion, then the tests' status is the
    status of `up`; everything else is stopped."""
    up = play("up", "--exit-code-from", "tests", "-t", "5")
    play.fact("exited", _exited_lines(up.out))
    play.fact("order", [line for line in ("migrated", "3 passed 1 failed") if line in up.out])
    play.fact("states", play.states())


FLUSH_ON_STOP = """\
name: {name}
services:
  cache:
    image: busybox:latest
    command: sh -c 'echo warm > /tmp/state; trap "exit 0" TERM; while true; do sleep 0.1; done'
    volumes: [dump:/dump]
    pre_stop:
      - command: sh -c 'cp /tmp/state /dump/state && echo flushed > /dump/flag'
  reader:
    image: busybox:latest
    command: sh -c 'cat /dump/state /dump/flag'
    volumes: [dump:/dump]
    profiles: [read]
volumes:
  dump:
"""


def flush_on_stop(play: Play) -> None:
    """pre_stop saves what only the running container knows into a volume that outlives it."""
    play("up", "-d")
    play("down")  # the volume stays: no -v
    play.fact("read back", play("--profile", "read", "run", "--rm", "reader").out)


SCALE_NO_DEPS = """\
name: {name}
services:
  worker:
    image: busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 0.1; done'
    depends_on: [queue]
  queue:
    image: busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 0.1; done'
"""


def scale_without_dependencies(play: Play) -> None:
    play("scale", "--no-deps", "worker=2")
    play.fact("only workers", play.states())
    play("scale", "worker=1")
    play.fact("with the queue", play.states())


VOLUMES_FROM_CHAIN = """\
name: {name}
services:
  data:
    image: busybox:latest
    command: sh -c 'echo seed > /srv/seed; trap "exit 0" TERM; while true; do sleep 0.1; done'
    volumes: [srv:/srv]
  backup:
    image: busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 0.1; done'
    volumes_from: [data]
    volumes: [./out:/backup]
  audit:
    image: busybox:latest
    command: sh -c 'trap "exit 0" TERM; while true; do sleep 0.1; done'
    volumes_from: [backup]
volumes:
  srv:
"""


def volumes_from_chain(play: Play) -> None:
    """A container that takes its volumes from one that took them from a third sees them all."""
    play("up", "-d", "--wait")
    play("exec", "-T", "backup", "sh", "-c", "cp /srv/seed /backup/seed")
    play.fact("backup copy", (play.workdir / "out" / "seed").read_text())
    play.fact("audit sees", play("exec", "-T", "audit", "sh", "-c", "cat /srv/seed; ls /backup").out)


@dataclass(frozen=True)
class Scenario:
    compose: str
    play: Callable[[Play], None]
    expected: Outcome


EXITED_ALL = ["bad-1 exited with code 3", "long-1 exited with code 0", "ok-1 exited with code 0"]
STATES_ALL = [("bad", "exited", 3), ("long", "exited", 0), ("ok", "exited", 0)]
LOOP = ("running", 0)

SCENARIOS = {
    "abort-on-failure": Scenario(
        THREE_JOBS,
        abort_on_failure,
        Outcome(
            [("up --abort-on-container-failure -t 5", 3), ("logs bad", 0)],
            {
                "exited": EXITED_ALL,
                "long got term": True,
                "bad failing": True,
                "states": STATES_ALL,
                "logs bad": True,
            },
        ),
    ),
    "exit-code-from": Scenario(
        THREE_JOBS,
        exit_code_from,
        Outcome([("up --exit-code-from bad -t 5", 3)], {"exited": EXITED_ALL, "states": STATES_ALL}),
    ),
    "abort-on-exit": Scenario(
        THREE_JOBS,
        abort_on_exit,
        Outcome([("up --abort-on-container-exit -t 5", 0)], {"exited": EXITED_ALL, "states": STATES_ALL}),
    ),
    "failure-flag-without-failure": Scenario(
        ALL_GOOD,
        failure_flag_without_failure,
        Outcome(
            [
                ("up --abort-on-container-failure", 0),
                ("up -d --abort-on-container-failure", 1),
                ("up --abort-on-container-failure --abort-on-container-exit", 1),
            ],
            {
                "exited": ["first-1 exited with code 0", "second-1 exited with code 0"],
                "aborting": False,
                "states": [("first", "exited", 0), ("second", "exited", 0)],
            },
        ),
    ),
    "hooks": Scenario(
        HOOKS,
        hooks_run_in_the_container,
        Outcome(
            [("up -d", 0), ("stop", 0)],
            {
                "post": "post 0 /tmp bar\nsecond\n",
                "pre before stop": False,
                "pre": "pre 1000 sh\n",
                "states": [("app", "exited", 0)],
            },
        ),
    ),
    "failing-hooks": Scenario(
        FAILING_HOOKS,
        failing_hooks,
        Outcome(
            [("up -d", 1), ("down", 1)],
            {"up says": True, "running": ["app"], "down says": True, "running after down": ["app"]},
        ),
    ),
    "scale": Scenario(
        SCALE,
        scale_up_and_down,
        Outcome(
            [
                ("up -d", 0),
                ("scale web=3", 0),
                ("scale web=1 cache=2", 0),
                ("scale web", 1),
                ("scale nosuch=2", 1),
                ("scale web=x", 1),
            ],
            {
                "after scale 3": [("cache", *LOOP), *[("web", *LOOP)] * 3],
                "after scale 1": [*[("cache", *LOOP)] * 2, ("web", *LOOP)],
            },
        ),
    ),
    "volumes-from": Scenario(
        VOLUMES_FROM,
        volumes_from,
        Outcome(
            [
                ("up -d --wait", 0),
                ("exec -T app cat /data/f", 0),
                ("exec -T app sh -c echo from-app > /host/app", 0),
                ("exec -T byname cat /data/f", 0),
                ("volumes -q", 0),
                ("volumes --format {{.Name}} app", 0),
            ],
            {
                "app reads": "hello\n",
                "host file": "from-app\n",
                "by name reads": "hello\n",
                "volumes": ["{name}_data"],
                "volumes of app": ["{name}_data"],
            },
        ),
    ),
    "ci-pipeline": Scenario(
        CI_PIPELINE,
        ci_pipeline,
        Outcome(
            [("up --exit-code-from tests -t 5", 1)],
            {
                "exited": [
                    "db-1 exited with code 0",
                    "migrate-1 exited with code 0",
                    "tests-1 exited with code 1",
                ],
                "order": ["migrated", "3 passed 1 failed"],
                "states": [("db", "exited", 0), ("migrate", "exited", 0), ("tests", "exited", 1)],
            },
        ),
    ),
    "flush-on-stop": Scenario(
        FLUSH_ON_STOP,
        flush_on_stop,
        Outcome(
            [("up -d", 0), ("down", 0), ("--profile read run --rm reader", 0)],
            {"read back": "warm\nflushed\n"},
        ),
    ),
    "scale-no-deps": Scenario(
        SCALE_NO_DEPS,
        scale_without_dependencies,
        Outcome(
            [("scale --no-deps worker=2", 0), ("scale worker=1", 0)],
            {
                "only workers": [("worker", *LOOP), ("worker", *LOOP)],
                "with the queue": [("queue", *LOOP), ("worker", *LOOP)],
            },
        ),
    ),
    "volumes-from-chain": Scenario(
        VOLUMES_FROM_CHAIN,
        volumes_from_chain,
        Outcome(
            [
                ("up -d --wait", 0),
                ("exec -T backup sh -c cp /srv/seed /backup/seed", 0),
                ("exec -T audit sh -c cat /srv/seed; ls /backup", 0),
            ],
            {"backup copy": "seed\n", "audit sees": "seed\nseed\n"},
        ),
    ),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_scenario(side: Side, scenario: str, tmp_path: Path) -> None:
    spec = SCENARIOS[scenario]
    name = f"lc-{scenario}"
    hook = PRIVILEGED_HOOK if side.name.startswith("composer") else ""
    play = Play(side, _project(tmp_path, spec.compose.format(name=name, privileged_hook=hook)), name)
    try:
        spec.play(play)
        play("down", "-v", "-t", "1")
        play.fact("left after down -v", play.left())
    finally:
        play.cleanup()
    expected = _expected(spec.expected, name)
    side_facts = {k: v for k, v in play.outcome.facts.items() if k != "ro refuses writes"}
    assert (play.outcome.codes, side_facts) == (expected.codes, expected.facts), side.name
    if side.name.startswith("composer"):
        assert play.outcome.facts.get("ro refuses writes", True) is True


def _expected(outcome: Outcome, name: str) -> Outcome:
    facts = {k: _named(v, name) for k, v in outcome.facts.items()}
    facts["left after down -v"] = []
    return Outcome([*outcome.codes, ("down -v -t 1", 0)], facts)


def _named(value: object, name: str) -> object:
    if isinstance(value, list):
        return [_named(v, name) for v in value]
    return value.replace("{name}", name) if isinstance(value, str) else value
