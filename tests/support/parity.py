"""Running the same project with composer and with the reference Docker Compose v2 binary, on our engine or a
private dockerd, and reading back what each left: the shared helpers of the parity tests (secrets/configs,
convergence, tests/scenarios).

    with dockerd_loaded(engine, bip="10.235.0.1/24", pool="base=10.236.0.0/16,size=24") as host:
        res = tool("composer", host, workdir, "up", "-d")     # or tool("reference", ...)
        docker(host, "exec", "proj-app-1", "cat", "/run/secrets/x")

A private dockerd gets busybox:latest as a `docker save` archive of our engine's image (`docker load`), so
both engines run the same image ID. Address ranges: each test module passes its own (the cleanup removes the
bridges holding addresses of those ranges).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.support import dockerd
from tests.support.engine import EngineProcess
from tests.support.reference import reference_binary

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 180


@dataclass(frozen=True)
class Result:
    rc: int
    out: str
    err: str


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without DOCKER_*/COMPOSE_* settings that would redirect either tool."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "COMPOSE_"))}
    env.update({"DOCKER_CLI_HINTS": "false", "PYTHONPATH": str(ROOT)})
    env.update(extra or {})
    return env


def tool(
    which: str,
    host: str,
    workdir: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: int = TIMEOUT,
) -> Result:
    """Run `composer` (this checkout) or the reference binary with DOCKER_HOST=host in `workdir`."""
    if which == "composer":
        argv = [sys.executable, "-m", "composer.cli.main", *args]
    elif which == "reference":
        binary = reference_binary()
        assert binary is not None, "the reference binary is not installed"
        argv = [binary, *args]
    else:
        raise ValueError(which)
    full_env = clean_env(env)
    full_env["DOCKER_HOST"] = host
    full_env["DOCKER_CONFIG"] = str(workdir / ".docker-config")  # no credential helpers of the host's
    proc = subprocess.run(argv, cwd=workdir, env=full_env, capture_output=True, text=True, timeout=timeout)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def docker(host: str, *args: str, input: bytes | None = None, timeout: int = 120) -> Result:
    env = clean_env({"DOCKER_HOST": host})
    proc = subprocess.run([dockerd.DOCKER, *args], env=env, input=input, capture_output=True, timeout=timeout)
    return Result(proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace"))


@contextlib.contextmanager
def dockerd_loaded(engine: EngineProcess, *, bip: str, pool: str) -> Iterator[str]:
    """A private dockerd (its DOCKER_HOST) holding our engine's busybox:latest; everything it made is gone
    afterwards (processes, bridges, mounts: asserted)."""
    with tempfile.TemporaryDirectory(prefix="t-parity-", dir="/tmp") as spool:
        archive = Path(spool) / "busybox.tar"
        saved = docker(engine.docker_host, "save", "-o", str(archive), "busybox:latest")
        assert saved.rc == 0, saved.err
        prefixes = (bip.rsplit(".", 2)[0] + ".", pool.partition("=")[2].rsplit(".", 2)[0] + ".")
        before = dockerd.links()
        with dockerd.private_dockerd(with_busybox=False, bip=bip, pool=pool) as (_env, tmp, daemon):
            host = f"unix://{tmp}/docker.sock"
            loaded = docker(host, "load", "-i", str(archive))
            assert loaded.rc == 0, loaded.err
            yield host
        assert daemon.poll() is not None
        assert dockerd.pids_mentioning(tmp) == [], "dockerd, containerd or a shim outlived the test"
        assert dockerd.peer_links(before, prefixes) == set(), "dockerd's bridges were left behind"


def project_objects(host: str, project: str) -> dict[str, list[str]]:
    """Names of the project's containers (one-off included), networks and volumes, by label."""
    label = f"label=com.docker.compose.project={project}"
    found: dict[str, list[str]] = {}
    for kind, args in (
        ("containers", ("ps", "-a", "--filter", label, "--format", "{{.Names}}")),
        ("networks", ("network", "ls", "--filter", label, "--format", "{{.Name}}")),
        ("volumes", ("volume", "ls", "--filter", label, "--format", "{{.Name}}")),
    ):
        res = docker(host, *args)
        assert res.rc == 0, res.err
        found[kind] = sorted(res.out.split())
    return found


def container_snapshot(host: str, project: str) -> dict[str, tuple[str, str, str]]:
    """name -> (id, StartedAt, network ids) of the project's containers: equal snapshots mean nothing was
    created, recreated or restarted in between."""
    names = project_objects(host, project)["containers"]
    if not names:
        return {}
    fmt = "{{.Name}} {{.Id}} {{.State.StartedAt}} {{range .NetworkSettings.Networks}}{{.NetworkID}},{{end}}"
    res = docker(host, "inspect", "--format", fmt, *names)
    assert res.rc == 0, res.err
    out = {}
    for line in res.out.splitlines():
        name, cid, started, nets = (line.split(" ") + [""])[:4]
        out[name.lstrip("/")] = (cid, started, ",".join(sorted(filter(None, nets.split(",")))))
    return out
