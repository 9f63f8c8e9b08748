"""Secrets and configs inside containers, on our engine and on a private dockerd, brought up by composer and
by the reference Compose v2 binary: every pairing must show the same files (content, owner, mode, read-only).

`file:` sources are read-only bind mounts; `environment:`/`content:` sources are written in through the
Engine API (PUT archive) before the container starts, owned and moded as asked. Then what composer does
around them: a changed secret value recreates the service (an unchanged one does not), `run` gets them too,
an unset variable and an external secret are Compose's errors.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.engine import EngineProcess
from tests.support.parity import docker, dockerd_loaded, project_objects, tool
from tests.support.reference import reference_binary

pytestmark = [pytest.mark.root, pytest.mark.e2e]

BIP, POOL = "10.235.0.1/24", "base=10.236.0.0/16,size=24"

COMPOSE = """\
services:
  app:
    image: busybox
    command: sleep 3600
    secrets:
      - envsec
      - fsec
      - source: envsec
        target: custom
        uid: "100"
        gid: "101"
        mode: 0400
      - source: envsec
        target: /abs/path
    configs:
      - cfile
      - ccontent
      - source: ccontent
        target: rel/cfg
        mode: 0600
        uid: "5"
secrets:
  envsec:
    environment: MYSEC
  fsec:
    file: ./s.txt
configs:
  cfile:
    file: ./c.txt
  ccontent:
    content: "hello $$x"
"""

# path -> (content, "mode uid gid", root can write) as the reference binary leaves them on dockerd
# (measured): bind mounts are read-only even for root; written-in files are protected by their mode (no
# other user can write any of them: checked too)
EXPECTED = {
    "/run/secrets/envsec": ("topsecret", "444 0 0", True),
    "/run/secrets/custom": ("topsecret", "400 100 101", True),
    "/abs/path": ("topsecret", "444 0 0", True),
    "/run/secrets/fsec": ("filesecret\n", "644 0 0", False),
    "/cfile": ("cfgfile\n", "644 0 0", False),
    "/ccontent": ("hello $x", "444 0 0", True),
    "/rel/cfg": ("hello $x", "600 5 0", True),
}

PROBE = 'for f in "$@"; do echo "== $f $(stat -c "%a %u %g" "$f")"; cat "$f"; echo; done'


@pytest.fixture(scope="module")
def dockerd_host(engine_handle: EngineProcess) -> Iterator[str]:
    if shutil.which("dockerd") is None:
        pytest.skip("dockerd is not installed")
    with dockerd_loaded(engine_handle, bip=BIP, pool=POOL) as host:
        yield host


@pytest.fixture(params=["engine", "dockerd"])
def host(request: pytest.FixtureRequest, engine_handle: EngineProcess) -> str:
    if request.param == "engine":
        return engine_handle.docker_host
    return str(request.getfixturevalue("dockerd_host"))


def _project(tmp_path: Path, name: str = "sc") -> Path:
    work = tmp_path / name
    work.mkdir()
    (work / "compose.yaml").write_text(COMPOSE)
    (work / "s.txt").write_text("filesecret\n")
    (work / "c.txt").write_text("cfgfile\n")
    return work


def _files(host: str, container: str) -> dict[str, tuple[str, str, bool]]:
    res = docker(host, "exec", container, "sh", "-c", PROBE, "probe", *EXPECTED)
    assert res.rc == 0, res.err
    found: dict[str, tuple[str, str, bool]] = {}
    for chunk in res.out.split("== ")[1:]:
        head, _, body = chunk.partition("\n")
        path, _, owner = head.partition(" ")
        found[path] = (body[:-1], owner, False)  # PROBE adds one newline after each file
    for path, (content, owner, _) in list(found.items()):
        other = docker(host, "exec", "-u", "1000:1000", container, "sh", "-c", f"echo x >> {path}")
        assert other.rc != 0, f"{path} is writable by another user"
        root = docker(host, "exec", container, "sh", "-c", f"echo x >> {path}")
        found[path] = (content, owner, root.rc == 0)
    return found


@pytest.mark.parametrize("which", ["composer", "reference"])
def test_files_inside_the_container(host: str, which: str, tmp_path: Path) -> None:
    if which == "reference" and reference_binary() is None:
        pytest.skip("the reference binary is not installed")
    work = _project(tmp_path)
    env = {"MYSEC": "topsecret"}
    try:
        up = tool(which, host, work, "up", "-d", env=env)
        assert up.rc == 0, up.err
        assert _files(host, "sc-app-1") == EXPECTED
        mounts = docker(host, "inspect", "--format", "{{json .HostConfig.Mounts}}", "sc-app-1").out
        assert '"Target":"/run/secrets/fsec","ReadOnly":true' in mounts
        assert "/run/secrets/envsec" not in mounts  # written in, never a host file
    finally:
        tool(which, host, work, "down", "-v", env=env)
    assert project_objects(host, "sc") == {"containers": [], "networks": [], "volumes": []}


def test_changed_value_recreates_and_run_gets_them(host: str, tmp_path: Path) -> None:
    work = _project(tmp_path)
    try:
        assert tool("composer", host, work, "up", "-d", env={"MYSEC": "one"}).rc == 0
        first = docker(host, "inspect", "--format", "{{.Id}}", "sc-app-1").out
        again = tool("composer", host, work, "up", "-d", env={"MYSEC": "one"})
        assert again.rc == 0 and docker(host, "inspect", "--format", "{{.Id}}", "sc-app-1").out == first
        changed = tool("composer", host, work, "up", "-d", env={"MYSEC": "two"})
        assert changed.rc == 0, changed.err
        assert "Recreated" in changed.err
        assert docker(host, "inspect", "--format", "{{.Id}}", "sc-app-1").out != first
        assert docker(host, "exec", "sc-app-1", "cat", "/run/secrets/envsec").out == "two"
        # unset while running: left alone (as Compose); `run` without it fails with Compose's words
        unset = tool("composer", host, work, "up", "-d")
        assert unset.rc == 0, unset.err
        run = tool("composer", host, work, "run", "--rm", "app", "cat", "/run/secrets/custom")
        assert run.rc == 1
        assert 'environment variable "MYSEC" required by secret "sc_envsec" is not set' in run.err
        run = tool(
            "composer", host, work, "run", "--rm", "app", "cat", "/run/secrets/custom", env={"MYSEC": "x"}
        )
        assert (run.rc, run.out) == (0, "x")
        # a stopped container gets the value again when started, and fails to start without it
        assert tool("composer", host, work, "stop", "-t", "0").rc == 0
        start = tool("composer", host, work, "start")
        assert start.rc == 1 and 'environment variable "MYSEC" required by secret' in start.err
    finally:
        tool("composer", host, work, "down", "-v")
    assert project_objects(host, "sc") == {"containers": [], "networks": [], "volumes": []}


def test_external_secret_is_composes_error(host: str, tmp_path: Path) -> None:
    work = tmp_path / "ext"
    work.mkdir()
    (work / "compose.yaml").write_text(
        "services:\n  app:\n    image: busybox\n    command: sleep 3600\n    secrets: [ext]\n"
        "secrets:\n  ext:\n    external: true\n"
    )
    try:
        for args in (("up", "-d"), ("create",), ("run", "--rm", "app", "true")):
            res = tool("composer", host, work, *args)
            assert res.rc == 1, args
            assert res.err.strip().splitlines()[-1] == "unsupported external secret ext", res.err
            assert "Traceback" not in res.err
    finally:
        tool("composer", host, work, "down", "-v")
